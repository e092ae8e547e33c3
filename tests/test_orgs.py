"""The organisation tree: as a tree, narrowed to a subtree, and as a filter."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db


def _org(name):
    from models.kernel.orgs import Organisation

    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def test_tree_page_shows_the_hierarchy(as_user, ctx):
    html = as_user("secretary").get("/organisation/tree/").get_data(as_text=True)
    big, branch, group = (html.index(n) for n in ("文化路社区大党委", "第一网格党支部", "建材宿舍党小组"))
    assert big < branch < group
    assert "<details" in html


def test_tree_narrowed_to_a_subtree(as_user, ctx):
    branch = _org("第一网格党支部")
    html = as_user("secretary").get(f"/organisation/tree/?root={branch.id}").get_data(as_text=True)
    assert "建材宿舍党小组" in html            # under 第一网格党支部
    assert "第二网格党支部" not in html and "综合支部" not in html
    assert "第一网格党支部及其下级" in html


def test_subtree_outside_scope_is_empty(as_user, ctx):
    other = _org("槐荫社区大党委")
    html = as_user("worker").get(f"/organisation/tree/?root={other.id}").get_data(as_text=True)
    assert "槐荫社区居民委员会" not in html


def test_list_filter_by_subtree(as_user, ctx):
    """The list's parent filter "隶属于(含下级)" matches the whole subtree."""
    big = _org("文化路社区大党委")
    client = as_user("secretary")
    body = client.get(f"/organisation/list/?_flt_1_parent={big.id}&psize_OrganisationView=100") \
        .get_data(as_text=True)
    direct = client.get(f"/organisation/list/?_flt_0_parent={big.id}&psize_OrganisationView=100") \
        .get_data(as_text=True)
    assert "建材宿舍党小组" in body            # grandchild, via 第一网格党支部
    assert "建材宿舍党小组" not in direct      # only direct children
    assert "第一网格党支部" in direct


def test_position_follows_its_organisation(ctx):
    from app import domain
    from models.kernel.orgs import Position

    branch = _org("第一网格党支部")
    position = domain.save(Position(organisation=branch, title="secretary", holder_name="测试书记"))
    assert position.community_id == branch.community_id and position.grid_id == branch.grid_id
