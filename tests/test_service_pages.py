"""The pages and REST endpoints of the 三单 loop: the public demand list and the rating
link (no login), the demand page's action buttons for each role, the dispatcher's and
the taker's desks, the quick intake with photos, the REST action endpoint and its
OpenAPI entry, notifications, filing a demand from a care visit, the edit and delete
rules, and constant statement counts of the lists.

The state machine itself (every state × every action) is tested in test_service.py;
here the same rules are seen through the web: what is shown, what a POST changes, and
that a refused step shows a Chinese message and changes nothing.
"""
from __future__ import annotations

import contextlib
import datetime
import html as htmllib
import io
import re
import struct
import zlib

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from models.service import demands, machine, sweep, ratings
from models.service.demands import (CANCELLED, DISPATCHED, IN_PROGRESS, PENDING, RATED, RESOLVED, TAKEN, Demand,
                                    DemandEvent, DemandPhoto, ServiceCategory)
from models.service.notices import Notification
from tests import factories as f

T0 = datetime.datetime(2026, 3, 2, 9, 0)
NUMBER = re.compile(r"^WH-\d{4}-\d{6}$")


# ----------------------------------------------------------------------------- data helpers

def category(code="repair") -> ServiceCategory:
    return db.session.scalars(select(ServiceCategory).where(ServiceCategory.code == code)).one()


def unit(name="孝感市盐业公司"):
    from models.kernel.orgs import Organisation

    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def volunteer_member():
    from models.people.people import PartyMember

    return db.session.scalars(select(PartyMember).where(PartyMember.user_id == f.user("volunteer").id)).one()


def grid1_code() -> str:
    return f.user("grid1").scope_grid.code


def compound_in(grid_code: str):
    from models.kernel.places import Compound

    return db.session.scalars(select(Compound).where(Compound.grid.has(code=grid_code)).order_by(Compound.id)).first()


def other_grid_code(code: str) -> str:
    from models.kernel.places import Grid

    return db.session.scalars(select(Grid.code).where(Grid.community_id == f.community().id, Grid.code != code)
                              .order_by(Grid.code)).first()


def new_demand(code="repair", grid_code=None, by="worker", **values) -> Demand:
    """A new pending demand, by default in grid1's grid (grid1 sees it)."""
    values.setdefault("compound", compound_in(grid_code or grid1_code()))
    values.setdefault("title", "楼道灯不亮")
    demand = Demand(description="三楼楼道灯坏了一周", category=category(code), source="phone",
                    requester_name="页面测试居民", requester_phone="13900002222", **values)
    return machine.create(demand, f.user(by) if by else None)


#: how to bring a new demand to each state, as the system (the command line)
PATHS = {
    PENDING: [],
    DISPATCHED: [("dispatch", {})],
    TAKEN: [("dispatch", {}), ("take", {})],
    IN_PROGRESS: [("dispatch", {}), ("take", {}), ("start", {})],
    RESOLVED: [("dispatch", {}), ("take", {}), ("start", {}), ("resolve", {"result": "修好了", "evidence": "照片"})],
    RATED: [("dispatch", {}), ("take", {}), ("resolve", {"result": "修好了", "evidence": "照片"}),
            ("rate", {"rating": 5})],
    CANCELLED: [("cancel", {"note": "居民已自行解决"})],
}


def in_state(state, *, pool=False, code="repair", grid_code=None) -> Demand:
    """A new demand brought to ``state``; dispatched to the partner's unit (or the pool)."""
    demand = new_demand(code, grid_code)
    for action, data in PATHS[state]:
        if action == "dispatch":
            data = {"pool": True} if pool else {"unit": unit()}
        if action == "take" and pool:
            action, data = "claim", {"unit": unit()}
        machine.act(demand, action, None, **data)
    assert demand.status == state
    return demand


def fresh(demand) -> Demand:
    """The demand as the database has it now (after a request changed it)."""
    db.session.expire_all()
    return db.session.get(Demand, demand.id)


def events_of(demand) -> list[str]:
    return list(db.session.scalars(select(DemandEvent.action).where(DemandEvent.demand_id == demand.id)
                                   .order_by(DemandEvent.id)))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def buttons(page: str) -> set[str]:
    return set(re.findall(r'data-target="#act-([a-z_]+)"', page))


def badges(page: str) -> list[int]:
    """The counts on the desk tabs, in tab order."""
    return [int(n) for n in re.findall(r'<span class="badge">(\d+)</span>', page)]


def desk_numbers(page: str) -> list[str]:
    return re.findall(r'class="list-group-item desk-row" data-number="([^"]+)"', page)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """Uploaded photos go to a temporary folder, not the instance folder."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    return tmp_path


@contextlib.contextmanager
def csrf_checked(app):
    """CSRF checked as in production (the test app leaves it off); sign in before."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def csrf_token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# ============================================================================= 1. public demand list

def _section(page: str, start: str, end: str | None) -> str:
    i = page.index(start)
    return page[i:page.index(end, i + 1)] if end else page[i:]


def test_public_list_shows_open_demands_by_class_and_the_recently_resolved(client, ctx):
    response = client.get("/public/demands/")
    assert response.status_code == 200
    page = text_of(response)
    assert "文化路社区需求清单" in page
    urgent = _section(page, '<h2 class="urgent">急需解决', "<h2>长期解决")
    long_term = _section(page, "<h2>长期解决", '<h2 class="done">近期办结')
    done = _section(page, '<h2 class="done">近期办结', None)
    community = f.community()
    rows = db.session.scalars(select(Demand).where(Demand.community_id == community.id)).all()
    since = clock.now() - datetime.timedelta(days=30)
    shown = set(re.findall(r">(WH-\d{4}-\d{6})<", page))
    for d in rows:
        if d.status in demands.OPEN:
            assert f">{d.number}<" in (urgent if d.demand_class == "urgent" else long_term), d.number
        elif d.status in demands.FINISHED and d.resolved_at >= since + datetime.timedelta(minutes=1):
            assert f">{d.number}<" in done, d.number
        elif d.status in (CANCELLED, "duplicate") or d.resolved_at < since - datetime.timedelta(minutes=1):
            assert d.number not in shown, (d.number, d.status)
    opened = [d for d in rows if d.status in demands.OPEN]
    assert f"<small>{sum(d.demand_class == 'urgent' for d in opened)}</small>" in urgent
    assert f"<small>{sum(d.demand_class != 'urgent' for d in opened)}</small>" in long_term
    # a new one is listed at once, as urgent, with its status
    demand = new_demand(title="公示测试需求")
    urgent = _section(text_of(client.get("/public/demands/")), '<h2 class="urgent">', "<h2>长期解决")
    assert demand.number in urgent and "公示测试需求" in urgent and "待派单" in urgent
    # the other community's list is its own; an unknown one is 404
    other = f.community("槐荫社区")
    assert demand.number not in text_of(client.get(f"/public/demands/{other.id}"))
    assert client.get("/public/demands/999999").status_code == 404


#: the columns of the public list: nothing else may be shown of a demand
PUBLIC_COLUMNS = {"编号", "需求", "类别", "小区", "状态", "接单方", "登记日期", "办结日期"}


def test_public_list_never_shows_who_asked_or_which_member_took_it(client, ctx):
    """No requester (registered or named only), no phone, no room, no member taker.

    Names and phones are searched in the whole HTML. Room numbers are short digit
    strings ("301"), so they are looked for where a room would appear: as "301室", as
    an element of its own (">301<"), as the household's label ("1单元 301"), and inside
    any table cell as a number of its own: not part of a longer number (the serial
    WH-2026-000301, a date) nor a street number ("文化路101号院" is a compound's name);
    the cells themselves must be the seven public columns only."""
    from models.people.people import PartyMember, Person

    pages = [text_of(client.get("/public/demands/"))]
    for community_id in db.session.scalars(select(Demand.community_id).distinct()):
        pages.append(text_of(client.get(f"/public/demands/{community_id}")))
    page = "\n".join(pages)
    visible_text = htmllib.unescape(page)

    demands = db.session.scalars(select(Demand)).all()
    assert len(demands) >= 150
    names, phones, rooms, households = set(), set(), set(), set()
    for d in demands:
        names.add(d.requester_name)
        phones.add(d.requester_phone)
        if d.requester is not None:
            names.add(d.requester.name)
            phones.add(d.requester.phone)
            if d.requester.household is not None:
                rooms.add(d.requester.household.room)
                households.add(str(d.requester.household))
    taker_ids = set(db.session.scalars(select(Demand.assigned_member_id).where(Demand.assigned_member_id.isnot(None))))
    takers = db.session.scalars(select(Person.name).join(PartyMember, PartyMember.person_id == Person.id)
                                .where(PartyMember.id.in_(taker_ids))).all()
    assert takers and "下沉党员" in page  # member orders are shown, without the member
    names = {n for n in names if n}
    phones = {p for p in phones if p}
    rooms = {r for r in rooms if r}
    assert len(names) > 100 and len(phones) > 100 and rooms
    leaked = [n for n in names | set(takers) if n in visible_text]
    assert not leaked, leaked
    assert not [p for p in phones if p in visible_text]
    assert not [h for h in households if h in visible_text]
    for room in rooms:
        assert f"{room}室" not in visible_text and f">{room}<" not in page, room
    cells = re.findall(r'<td[^>]*data-label="([^"]+)"[^>]*>(.*?)</td>', page, re.S)
    assert cells
    assert {label for label, _ in cells} <= PUBLIC_COLUMNS
    headers = set(re.findall(r"<th>([^<]+)</th>", page))
    assert headers <= PUBLIC_COLUMNS, headers
    for _label, cell in cells:
        value = htmllib.unescape(cell).strip()
        for room in rooms:
            assert not re.search(rf"(?<!\d){room}(?![\d号])", value), (room, value)
    # nor the address of a demand filed without a compound (it is "elsewhere")
    elsewhere = new_demand(compound=None, address="文化路88号门面房后院", community_id=f.community().id)
    page = text_of(client.get("/public/demands/"))
    row = page[page.index(f">{elsewhere.number}<"):]
    row = row[:row.index("</tr>")]
    assert "文化路88号" not in page and "页面测试居民" not in page and "13900002222" not in page
    assert 'data-label="小区">社区其他位置<' in row


# ============================================================================= 2. rating link

def _rating_link_via_page(as_user, demand) -> str:
    """The staff member makes the link on the demand page (shown once): its path."""
    page = text_of(as_user("worker").post(f"/demand/rating-link/{demand.id}"))
    assert "居民评价链接（只显示一次，只能评价一次）" in page
    url = re.search(r'class="form-control" type="text" readonly value="([^"]+)"', page).group(1)
    assert url.startswith("http") and "/public/rate/" in url
    return url[url.index("/public/rate/"):]


def _token_row(path):
    db.session.expire_all()
    return ratings.rating_token(path.rsplit("/", 1)[1])


def test_rating_link_page_shows_the_form_without_personal_data(client, ctx, as_user):
    demand = in_state(RESOLVED)
    path = _rating_link_via_page(as_user, demand)
    form = client.get(path)
    assert form.status_code == 200
    page = text_of(form)
    assert demand.number in page and demand.title in page and "修好了" in page  # the result
    assert page.count('name="rating"') == 5 and "非常满意" in page and "非常不满意" in page
    assert "页面测试居民" not in page and "13900002222" not in page
    assert _token_row(path) is not None and _token_row(path).used_at is None


def test_rating_link_page_rates_once(client, ctx, as_user):
    demand = in_state(RESOLVED)
    path = _rating_link_via_page(as_user, demand)
    done = client.post(path, data={"rating": "5", "comment": "师傅很认真"})
    assert done.status_code == 200, re.findall(r'class="error">([^<]*)<', text_of(done))
    assert "谢谢！您的评价已记录。" in text_of(done)
    rated = fresh(demand)
    assert rated.status == RATED and rated.rating == 5 and rated.rating_comment == "师傅很认真"
    last = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)
                              .order_by(DemandEvent.id.desc())).first()
    assert (last.action, last.actor_id, last.actor_name) == ("rate", None, "@requester")
    steps = events_of(demand)
    again = client.post(path, data={"rating": "1"})
    assert again.status_code == 404 and "评价链接无效（已使用或已过期）。" in text_of(again)
    assert client.get(path).status_code == 404
    assert fresh(demand).rating == 5 and events_of(demand) == steps
    assert "诉求人（评价链接）" in text_of(as_user("worker").get(f"/demand/show/{demand.id}"))


def test_a_poor_rating_by_link_reopens_the_demand(client, ctx):
    demand = in_state(RESOLVED)
    token = ratings.rating_link(demand)
    response = client.post(f"/public/rate/{token}", data={"rating": "2", "comment": "没修好"})
    assert response.status_code == 200, re.findall(r'class="error">([^<]*)<', text_of(response))
    assert fresh(demand).status == PENDING and events_of(demand)[-2:] == ["rate", "reopen"]




def test_a_used_forged_or_expired_rating_link_is_refused(app, client, ctx):
    for forged in ("forged-token", "x" * 101):
        response = client.get(f"/public/rate/{forged}")
        assert response.status_code == 404 and "评价链接无效（已使用或已过期）。" in text_of(response), forged
        assert client.post(f"/public/rate/{forged}", data={"rating": "5"}).status_code == 404
    # a NUL byte in any path is no page at all (app/inputs.py): refused before the view
    response = client.get("/public/rate/%00")
    assert response.status_code == 404 and "页面或记录不存在" in text_of(response)
    assert client.post("/public/rate/%00", data={"rating": "5"}).status_code == 404
    used = in_state(RESOLVED)
    token = ratings.rating_link(used)
    ratings.rate_by_token(token, 4)  # rated (as the command line can)
    for response in (client.get(f"/public/rate/{token}"), client.post(f"/public/rate/{token}", data={"rating": "1"})):
        assert response.status_code == 404 and "评价链接无效" in text_of(response)
    assert fresh(used).rating == 4
    with clock.frozen(T0):
        demand = in_state(RESOLVED)
        token = ratings.rating_link(demand)
        clock.advance(days=app.config["RATING_LINK_DAYS"], seconds=-1)
        assert client.get(f"/public/rate/{token}").status_code == 200  # still valid just before
        clock.advance(seconds=2)
        expired = client.get(f"/public/rate/{token}")
        assert expired.status_code == 404 and "评价链接无效（已使用或已过期）。" in text_of(expired)
        assert client.post(f"/public/rate/{token}", data={"rating": "5"}).status_code == 404
    assert fresh(demand).status == RESOLVED and fresh(demand).rating is None


@pytest.mark.parametrize("form", [{}, {"rating": ""}, {"rating": "9"}, {"rating": "0"}, {"rating": "五"}])
def test_a_rating_without_a_valid_choice_keeps_the_link(client, ctx, form):
    demand = in_state(RESOLVED)
    token = ratings.rating_link(demand)
    response = client.post(f"/public/rate/{token}", data={**form, "comment": "还行"})
    assert response.status_code == 400
    page = text_of(response)
    assert "请选择 1 到 5 分的评价。" in page and page.count('name="rating"') == 5  # the form again
    assert fresh(demand).status == RESOLVED and events_of(demand)[-1] == "resolve"
    assert ratings.rating_token(token) is not None  # not spent
    assert client.get(f"/public/rate/{token}").status_code == 200


def test_rating_form_needs_its_csrf_token(app, ctx):
    demand = in_state(RESOLVED)
    token = ratings.rating_link(demand)
    client = app.test_client()
    with csrf_checked(app):
        refused = client.post(f"/public/rate/{token}", data={"rating": "5"})
        assert refused.status_code == 400 and "表单已过期或来源异常" in text_of(refused)
        assert fresh(demand).status == RESOLVED and ratings.rating_token(token) is not None
        form = text_of(client.get(f"/public/rate/{token}"))  # still usable
        sent = client.post(f"/public/rate/{token}", data={"rating": "5", "csrf_token": csrf_token_of(form)})
        assert sent.status_code == 200 and "谢谢！您的评价已记录。" in text_of(sent)
        assert fresh(demand).status == RATED


def test_rating_link_only_for_resolved_demands_and_rating_staff(ctx, as_user):
    pending = new_demand()
    response = as_user("worker").post(f"/demand/rating-link/{pending.id}", follow_redirects=True)
    assert "需求办结后才能生成评价链接。" in text_of(response)
    resolved = in_state(RESOLVED)
    assert "/demand/rating-link/" in text_of(as_user("worker").get(f"/demand/show/{resolved.id}"))
    before = count(demands.RatingToken)
    assert as_user("partner").post(f"/demand/rating-link/{resolved.id}").status_code == 403
    assert as_user("worker2").post(f"/demand/rating-link/{resolved.id}").status_code == 404
    assert count(demands.RatingToken) == before


# ============================================================================= 3. the demand page by role

@pytest.mark.parametrize("username, state, pool, expected", [
    ("worker", PENDING, False, {"dispatch", "duplicate", "cancel"}),
    ("secretary", PENDING, False, {"dispatch", "duplicate", "cancel"}),
    ("grid1", PENDING, False, set()),
    ("leader", PENDING, False, set()),
    ("partner", DISPATCHED, False, {"take", "decline"}),
    ("worker", DISPATCHED, False, {"dispatch", "duplicate", "cancel"}),
    ("partner", TAKEN, False, {"start", "resolve", "decline"}),
    ("worker", TAKEN, False, {"start", "resolve", "cancel"}),
    ("secretary", CANCELLED, False, {"reopen"}),
    ("partner", DISPATCHED, True, {"claim"}),
    ("volunteer", DISPATCHED, True, {"claim"}),
    ("worker", RESOLVED, False, {"rate", "close", "reopen"}),
    ("leader", RESOLVED, False, set()),
    ("partner", RESOLVED, False, set()),
])
def test_the_buttons_each_role_sees(ctx, as_user, username, state, pool, expected):
    grid_code = volunteer_member().grid.code if username == "volunteer" else None
    demand = in_state(state, pool=pool, grid_code=grid_code)
    response = as_user(username).get(f"/demand/show/{demand.id}")
    assert response.status_code == 200
    page = text_of(response)
    assert buttons(page) == expected
    for action in expected:
        assert f'action="/demand/act/{demand.id}/{action}"' in page
    assert demand.number in page and "办理过程" in page
    assert ("/demand/rating-link/" in page) == (state == RESOLVED and "rate" in expected)


def test_a_role_that_may_not_act_gets_a_chinese_message_and_nothing_changes(ctx, as_user):
    demand = new_demand()
    steps = events_of(demand)
    for username, action, form in (("grid1", "dispatch", {"target": "pool"}),
                                   ("leader", "dispatch", {"target": "pool"}),
                                   ("grid1", "cancel", {"note": "居民撤回"}),
                                   ("leader", "duplicate", {"original": "1"})):
        response = as_user(username).post(f"/demand/act/{demand.id}/{action}", data=form, follow_redirects=True)
        assert response.status_code == 200, username
        assert "您的角色不能执行此操作。" in text_of(response), username
        assert f"/demand/show/{demand.id}" in response.request.path, username
        assert fresh(demand).status == PENDING and events_of(demand) == steps, username
    # a taker does not even see a demand that is not given to it
    assert as_user("partner").post(f"/demand/act/{demand.id}/cancel", data={"note": "x"}).status_code == 404
    # the unit's liaison may not dispatch the order it was given, nor cancel it
    given = in_state(DISPATCHED)
    for action, form in (("dispatch", {"target": "pool"}), ("cancel", {"note": "不想做"})):
        page = text_of(as_user("partner").post(f"/demand/act/{given.id}/{action}", data=form, follow_redirects=True))
        assert "您的角色不能执行此操作。" in page, action
    # and another unit's liaison may not take it: the volunteer does not see it
    assert as_user("volunteer").post(f"/demand/act/{given.id}/take").status_code == 404
    assert fresh(given).status == DISPATCHED and events_of(given) == ["create", "dispatch"]


def test_dispatch_take_and_resolve_through_the_page(ctx, as_user, uploads):
    demand = new_demand()
    worker, partner = as_user("worker"), as_user("partner")
    target = unit()
    response = worker.post(f"/demand/act/{demand.id}/dispatch", data={"target": "unit", "unit": target.id})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/demand/show/{demand.id}")
    page = text_of(worker.get(response.headers["Location"]))
    assert "派单：已完成。需求现在是“已派单”。" in page
    assert fresh(demand).status == DISPATCHED and fresh(demand).assigned_unit_id == target.id
    assert fresh(demand).dispatched_by_id == f.user("worker").id
    # the unit's liaison takes it and resolves it with a photo as the evidence
    page = text_of(partner.post(f"/demand/act/{demand.id}/take", follow_redirects=True))
    assert "接单：已完成。" in page and fresh(demand).status == TAKEN
    page = text_of(partner.post(f"/demand/act/{demand.id}/resolve", content_type="multipart/form-data", data={
        "result": "已更换灯泡", "photos": (io.BytesIO(png_bytes()), "done.png")}, follow_redirects=True))
    resolved = fresh(demand)
    assert resolved.status == RESOLVED and resolved.result == "已更换灯泡" and resolved.evidence == "照片 1 张"
    photo = db.session.scalars(select(DemandPhoto).where(DemandPhoto.demand_id == demand.id)).one()
    assert photo.stage == "evidence" and f"/demand/photo/{photo.id}" in page
    assert events_of(demand) == ["create", "dispatch", "take", "resolve"]


def test_staff_record_the_result_a_taker_reports_by_phone(ctx, as_user):
    demand = in_state(TAKEN)
    client = as_user("worker")
    client.post(f"/demand/act/{demand.id}/start", data={"note": "电话告知已开工"})
    client.post(f"/demand/act/{demand.id}/resolve", data={"result": "单位电话告知已修好", "evidence": "电话回访"})
    assert fresh(demand).status == RESOLVED and events_of(demand)[-2:] == ["start", "resolve"]




@pytest.mark.parametrize("action, form, message", [
    ("cancel", {}, "请填写原因。"),
    ("cancel", {"note": "   "}, "请填写原因。"),
    ("dispatch", {"target": "unit"}, "请选择"),
    ("dispatch", {"target": "unit", "unit": "999999"}, "不存在"),
    ("dispatch", {"target": "member", "member": "abc"}, "请选择"),
    ("duplicate", {"original": "WH-1999-000001"}, "WH-1999-000001"),
])
def test_an_action_without_what_it_needs_shows_why(ctx, as_user, action, form, message):
    demand = new_demand()
    response = as_user("worker").post(f"/demand/act/{demand.id}/{action}", data=form, follow_redirects=True)
    page = text_of(response)
    assert response.status_code == 200 and message in page
    assert "alert-danger" in page or "danger" in page
    assert fresh(demand).status == PENDING and events_of(demand) == ["create"]


def test_resolving_with_a_file_that_is_not_a_photo_changes_nothing(ctx, as_user, uploads):
    demand = in_state(TAKEN)
    page = text_of(as_user("partner").post(
        f"/demand/act/{demand.id}/resolve", content_type="multipart/form-data",
        data={"result": "已处理", "evidence": "现场", "photos": (io.BytesIO(b"MZ\x90\x00 not a photo"), "a.jpg")},
        follow_redirects=True))
    assert "不是 JPEG、PNG 或 WebP 照片：a.jpg" in page
    assert fresh(demand).status == TAKEN and count(DemandPhoto, DemandPhoto.demand_id == demand.id) == 0
    assert not list(uploads.rglob("*.*"))


def test_another_communitys_worker_cannot_open_or_act(ctx, as_user):
    demand = new_demand()
    client = as_user("worker2")
    assert client.get(f"/demand/show/{demand.id}").status_code == 404
    assert client.post(f"/demand/act/{demand.id}/dispatch", data={"target": "pool"}).status_code == 404
    assert client.post(f"/demand/act/{demand.id}/cancel", data={"note": "x"}).status_code == 404
    assert fresh(demand).status == PENDING and events_of(demand) == ["create"]


@pytest.mark.parametrize("action", ["timeout", "create", "nothing", "DISPATCH"])
def test_unknown_or_system_actions_are_404(ctx, as_user, action):
    demand = in_state(TAKEN)
    assert as_user("worker").post(f"/demand/act/{demand.id}/{action}").status_code == 404
    assert fresh(demand).status == TAKEN


def test_the_act_form_needs_its_csrf_token(app, ctx, as_user):
    demand = new_demand()
    client = as_user("worker")
    with csrf_checked(app):
        refused = client.post(f"/demand/act/{demand.id}/cancel", data={"note": "居民撤回"})
        assert refused.status_code == 400 and "表单已过期或来源异常" in text_of(refused)
        assert fresh(demand).status == PENDING
        page = text_of(client.get(f"/demand/show/{demand.id}"))
        done = client.post(f"/demand/act/{demand.id}/cancel",
                           data={"note": "居民撤回", "csrf_token": csrf_token_of(page)})
        assert done.status_code == 302 and fresh(demand).status == CANCELLED


@pytest.mark.parametrize("target", ["/service/orders/?tab=orders", "/demand/list/"])
def test_after_an_action_the_page_returns_to_a_local_next(ctx, as_user, target):
    demand = new_demand()
    response = as_user("worker").post(f"/demand/act/{demand.id}/cancel", data={"note": "撤回", "next": target})
    assert response.status_code == 302 and response.headers["Location"].endswith(target)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "evil.example", "javascript:alert(1)"])
def test_after_an_action_next_never_leaves_the_site(ctx, as_user, target):
    demand = new_demand()
    response = as_user("worker").post(f"/demand/act/{demand.id}/cancel", data={"note": "撤回", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/demand/show/{demand.id}")


@pytest.mark.parametrize("target", ["/\\evil.example/x", "/\\\\evil.example", "/ /evil.example", "/%09/evil.example"])
def test_after_an_action_odd_local_next_stays_on_the_site(ctx, as_user, target):
    """A backslash or a space is percent-encoded by the redirect: a path on this site."""
    from urllib.parse import urlsplit

    demand = new_demand()
    response = as_user("worker").post(f"/demand/act/{demand.id}/cancel", data={"note": "撤回", "next": target})
    location = response.headers["Location"]
    assert response.status_code == 302 and not location.startswith("//") and "\\" not in location
    assert urlsplit(location).netloc in ("", "localhost")


@pytest.mark.parametrize("target", ["/\t/evil.example/x", "/\n/evil.example/x", "/\r/evil.example/x"])
def test_after_an_action_next_with_a_control_character_never_leaves_the_site(ctx, as_user, target):
    demand = new_demand()
    response = as_user("worker").post(f"/demand/act/{demand.id}/cancel", data={"note": "撤回", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/demand/show/{demand.id}")


# ============================================================================= 4. the desks

def test_dispatch_desk_counts_and_tabs(ctx, as_user):
    worker = f.user("worker")
    community = f.community()
    in_community = Demand.community_id == community.id
    now = clock.now()
    expected = [count(Demand, in_community, Demand.status == PENDING),
                count(Demand, in_community, sweep.overdue_condition(now)),
                count(Demand, in_community, Demand.dispatched_by_id == worker.id, Demand.status.in_(demands.OPEN))]
    client = as_user("worker")
    page = text_of(client.get("/service/dispatch/"))
    assert "派单台" in page
    assert badges(page) == expected
    pending = db.session.scalars(select(Demand.number).where(in_community, Demand.status == PENDING)
                                 .order_by(Demand.created_at, Demand.id)).all()
    assert desk_numbers(page) == pending[:20]
    assert f'href="/demand/show/' in page
    mine = text_of(client.get("/service/dispatch/?tab=mine"))
    assert len(desk_numbers(mine)) == min(expected[2], 20)
    for number in desk_numbers(mine):
        d = db.session.scalars(select(Demand).where(Demand.number == number)).one()
        assert d.dispatched_by_id == worker.id and d.status in demands.OPEN
    # an unknown tab is the first one
    assert desk_numbers(text_of(client.get("/service/dispatch/?tab=bogus"))) == pending[:20]


def test_dispatch_desk_mine_is_what_i_dispatched(ctx, as_user):
    demand = new_demand()
    worker = as_user("worker")
    worker.post(f"/demand/act/{demand.id}/dispatch", data={"target": "pool"})
    assert fresh(demand).status == DISPATCHED and fresh(demand).in_pool
    assert demand.number in desk_numbers(text_of(worker.get("/service/dispatch/?tab=mine")))
    assert demand.number not in text_of(worker.get("/service/dispatch/?tab=pending"))
    assert demand.number not in text_of(as_user("secretary").get("/service/dispatch/?tab=mine"))


def test_dispatch_desk_overdue_tab_on_a_frozen_clock(app, ctx, as_user):
    client = as_user("worker")
    with clock.frozen(T0):
        late = new_demand(title="超时未接单")
        machine.act(late, "dispatch", f.user("worker"), unit=unit())
        waiting = new_demand(title="超时未派单")
        clock.advance(hours=1)
        page = text_of(client.get("/service/dispatch/?tab=overdue"))
        assert badges(page)[1] == 0 and desk_numbers(page) == [] and "没有超期的需求。" in page
        clock.advance(hours=category().take_hours)  # past the time to take and to dispatch
        page = text_of(client.get("/service/dispatch/?tab=overdue"))
        assert set(desk_numbers(page)) == {late.number, waiting.number}
        assert badges(page)[1] == 2
        row = page[page.index(f'data-number="{late.number}"'):]
        row = row[:row.index("desk-row", 10)] if "desk-row" in row[10:] else row
        assert 'class="late"' in row  # its time to take is shown in red


def test_dispatch_desk_pages_by_twenty(ctx, as_user):
    community = f.community()
    have = count(Demand, Demand.community_id == community.id, Demand.status == PENDING)
    for i in range(max(0, 25 - have)):
        new_demand(title=f"分页测试{i:02d}")
    total = count(Demand, Demand.community_id == community.id, Demand.status == PENDING)
    client = as_user("worker")
    first = text_of(client.get("/service/dispatch/?tab=pending"))
    pages = -(-total // 20)
    assert len(desk_numbers(first)) == 20 and 'class="pager"' in first
    assert f"第 1 页，共 {pages} 页" in first and "?tab=pending&amp;page=1" in first
    last = text_of(client.get(f"/service/dispatch/?tab=pending&page={pages - 1}"))
    assert len(desk_numbers(last)) == total - 20 * (pages - 1)
    assert not set(desk_numbers(first)) & set(desk_numbers(last))
    # a page beyond the end is empty, a bad page number is the first page
    assert desk_numbers(text_of(client.get("/service/dispatch/?tab=pending&page=99"))) == []
    assert desk_numbers(text_of(client.get("/service/dispatch/?tab=pending&page=x"))) == desk_numbers(first)


@pytest.mark.parametrize("username", ["grid1", "leader", "partner", "volunteer", "street"])
def test_dispatch_desk_is_for_dispatchers_only(as_user, username):
    assert as_user(username).get("/service/dispatch/").status_code == 403


@pytest.mark.parametrize("username", ["grid1", "leader", "worker", "street"])
def test_taker_desk_is_for_takers_only(as_user, username):
    assert as_user(username).get("/service/orders/").status_code == 403


def test_taker_desk_lists_the_units_orders_and_its_pool(ctx, as_user):
    mine = in_state(DISPATCHED)
    other = new_demand()
    machine.act(other, "dispatch", None, unit=unit("孝感市物资公司"))
    termite = new_demand("termite")
    machine.act(termite, "dispatch", None, pool=True)
    client = as_user("partner")
    page = text_of(client.get("/service/orders/"))
    partner_unit = unit()
    in_hand = db.session.scalars(select(Demand.number).where(
        Demand.assigned_unit_id == partner_unit.id, Demand.status.in_((DISPATCHED, TAKEN, IN_PROGRESS)))).all()
    assert set(desk_numbers(page)) == set(in_hand) and mine.number in in_hand
    assert other.number not in page
    assert f"/demand/act/{mine.id}/claim" not in page  # orders are opened, not claimed
    pool = text_of(client.get("/service/orders/?tab=pool"))
    poolable = db.session.scalars(select(Demand.number).join(ServiceCategory).where(
        Demand.community_id == partner_unit.community_id, Demand.status == DISPATCHED, Demand.in_pool.is_(True),
        ServiceCategory.takers.in_(("any", "unit")))).all()
    assert set(desk_numbers(pool)) == set(poolable) and termite.number in poolable
    assert badges(pool) == [len(in_hand), len(poolable)]
    assert f"/demand/act/{termite.id}/claim" in pool


def test_taker_desk_pool_shows_only_what_the_member_may_claim(ctx, as_user):
    member = volunteer_member()
    own, elsewhere = member.grid.code, other_grid_code(member.grid.code)
    made = {}
    for name, code, grid_code in (("repair", "repair", own), ("termite", "termite", own),
                                  ("tutoring", "tutoring", own), ("other_grid", "repair", elsewhere)):
        made[name] = new_demand(code, grid_code)
        machine.act(made[name], "dispatch", None, pool=True)
    member.skills = "电工"  # no longer a teacher
    db.session.commit()
    client = as_user("volunteer")
    pool = desk_numbers(text_of(client.get("/service/orders/?tab=pool")))
    assert made["repair"].number in pool
    assert made["termite"].number not in pool  # units only
    assert made["tutoring"].number not in pool  # needs 教师
    assert made["other_grid"].number not in pool  # another grid's
    member.skills = "教师,电工"
    db.session.commit()
    assert made["tutoring"].number in desk_numbers(text_of(client.get("/service/orders/?tab=pool")))
    # every listed order is one the member may claim
    for number in desk_numbers(text_of(client.get("/service/orders/?tab=pool"))):
        d = db.session.scalars(select(Demand).where(Demand.number == number)).one()
        assert machine.permitted("claim", d, f.user("volunteer")) is None, number


def test_claiming_from_the_desk_returns_to_my_orders(ctx, as_user):
    demand = new_demand("repair", volunteer_member().grid.code)
    machine.act(demand, "dispatch", None, pool=True)
    client = as_user("volunteer")
    pool = text_of(client.get("/service/orders/?tab=pool"))
    form = pool[pool.index(f'action="/demand/act/{demand.id}/claim"'):]
    nxt = htmllib.unescape(re.search(r'name="next" value="([^"]+)"', form).group(1))
    assert nxt == "/service/orders/?tab=orders"
    response = client.post(f"/demand/act/{demand.id}/claim", data={"next": nxt})
    assert response.status_code == 302 and response.headers["Location"].endswith("/service/orders/?tab=orders")
    claimed = fresh(demand)
    assert claimed.status == TAKEN and claimed.assigned_member_id == volunteer_member().id and not claimed.in_pool
    page = text_of(client.get(response.headers["Location"]))
    assert "抢单：已完成。" in page and demand.number in desk_numbers(page)
    # a second claim (someone else, from a stale page) is refused with a message
    # no longer in the pool: out of another taker's sight
    # a claim that came too late is told so (issue 16: never a 404) and goes back to the pool
    late = as_user("partner").post(f"/demand/act/{demand.id}/claim", data={"next": nxt})
    assert late.status_code == 302 and late.headers["Location"].endswith("/service/orders/?tab=pool")
    # the same member claiming again (a stale page) is told why
    again = text_of(client.post(f"/demand/act/{demand.id}/claim", data={"next": nxt}, follow_redirects=True))
    assert "不能" in again and "抢单" in again
    assert fresh(demand).assigned_member_id == volunteer_member().id and events_of(demand)[-1] == "claim"


def test_taker_desk_pages_by_twenty(ctx, as_user):
    for i in range(21):
        machine.act(new_demand(title=f"大厅分页{i:02d}"), "dispatch", None, pool=True)
    client = as_user("partner")
    page = text_of(client.get("/service/orders/?tab=pool"))
    assert len(desk_numbers(page)) == 20 and 'class="pager"' in page and "?tab=pool&amp;page=1" in page
    assert len(desk_numbers(text_of(client.get("/service/orders/?tab=pool&page=1")))) >= 1


# ============================================================================= 5. quick intake

def _intake_form(**values) -> dict:
    form = {"category": str(category().id), "title": "路灯不亮", "description": "院内路灯坏了一周",
            "compound": str(compound_in(grid1_code()).id), "requester_name": "登记测试居民",
            "requester_phone": "13900003333", "demand_class": "urgent", "source": "grid_visit"}
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_grid_worker_files_a_demand_with_the_quick_intake(ctx, as_user):
    client = as_user("grid1")
    page = text_of(client.get("/service/intake/"))
    assert 'name="category"' in page and 'enctype="multipart/form-data"' in page and "快速登记" in page
    before = count(Demand)
    response = client.post("/service/intake/", data=_intake_form(title="单元门禁损坏", demand_class="long_term"))
    assert response.status_code == 302 and "/service/intake/?filed=" in response.headers["Location"]
    assert count(Demand) == before + 1
    demand = db.session.scalars(select(Demand).order_by(Demand.id.desc())).first()
    grid1 = f.user("grid1")
    assert demand.title == "单元门禁损坏" and demand.status == PENDING and demand.source == "grid_visit"
    assert demand.created_by_id == grid1.id and demand.grid_id == grid1.scope_grid_id
    assert demand.demand_class == "long_term" and NUMBER.match(demand.number)
    first = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)).one()
    assert first.action == "create" and first.actor_id == grid1.id and first.to_status == PENDING
    shown = text_of(client.get(response.headers["Location"]))
    assert f"{demand.number} 单元门禁损坏" in shown and f"/demand/show/{demand.id}" in shown
    assert f"需求 {demand.number} 已登记，社区将派单。" in shown
    # the dispatchers see it at once (the oldest first: it is on the last page)
    pending = count(Demand, Demand.community_id == demand.community_id, Demand.status == PENDING)
    last = text_of(as_user("worker").get(f"/service/dispatch/?tab=pending&page={(pending - 1) // 20}"))
    assert desk_numbers(last)[-1] == demand.number


@pytest.mark.parametrize("values, field, message", [
    ({"category": ""}, "category", "请选择类别。"),
    ({"category": "999999"}, "category", "请选择类别。"),
    ({"title": ""}, "title", None),
    ({"title": "   "}, "title", None),
    ({"requester_name": "", "requester_phone": ""}, "requester_name", "请填写诉求人"),
    ({"description": "字" * 4001}, "description", "最多4000个字符。"),
    ({"compound": "", "address": ""}, "compound", "请选择小区"),
])
def test_intake_errors_are_shown_and_nothing_is_filed(ctx, as_user, values, field, message):
    before = count(Demand)
    response = as_user("grid1").post("/service/intake/", data=_intake_form(**values))
    assert response.status_code == 200
    page = text_of(response)
    block = page[page.index(f'name="{field}"') - 400:page.index(f'name="{field}"') + 600] \
        if f'name="{field}"' in page else page
    assert "has-error" in block, field
    if message:
        assert message in page, (message, field)
    else:  # some Chinese message for the field
        assert re.search(r'<span class="help-block">[^<]*[\u4e00-\u9fff][^<]*</span>', page), field
    assert count(Demand) == before
    # what was typed is shown again
    if values.get("requester_name") != "":
        assert "登记测试居民" in page


def test_intake_files_a_demand_given_only_an_address(ctx, as_user):
    before = count(Demand)
    response = as_user("grid1").post("/service/intake/", data=_intake_form(compound="", address="文化路88号后院"))
    assert response.status_code == 302, re.findall(r'help-block">([^<]*)<', text_of(response))
    demand = db.session.scalars(select(Demand).order_by(Demand.id.desc())).first()
    assert count(Demand) == before + 1 and demand.address == "文化路88号后院"
    assert demand.community_id == f.user("grid1").scope_community_id




def test_intake_cannot_skip_the_requester_by_claiming_to_be_open311(ctx, as_user):
    before = count(Demand)
    response = as_user("grid1").post("/service/intake/", data=_intake_form(
        source="open311", requester_name="", requester_phone=""))
    assert response.status_code == 200 and "请填写诉求人" in text_of(response)
    assert count(Demand) == before


def test_intake_photo_is_stored_and_served_within_scope(ctx, as_user, uploads):
    client = as_user("grid1")
    content = png_bytes()
    response = client.post("/service/intake/", content_type="multipart/form-data", data={
        **_intake_form(title="化粪池外溢"), "photos": (io.BytesIO(content), "现场.png")})
    assert response.status_code == 302
    demand = db.session.scalars(select(Demand).order_by(Demand.id.desc())).first()
    photo = db.session.scalars(select(DemandPhoto).where(DemandPhoto.demand_id == demand.id)).one()
    assert photo.stage == "intake" and photo.content_type == "image/png" and photo.size == len(content)
    assert photo.filename == "现场.png" and photo.uploaded_by_id == f.user("grid1").id
    assert (uploads / "demand" / photo.stored_as).read_bytes() == content
    for username in ("grid1", "worker", "leader"):
        served = as_user(username).get(f"/demand/photo/{photo.id}")
        assert served.status_code == 200 and served.data == content, username
        assert served.headers["Content-Type"] == "image/png"
    assert f"/demand/photo/{photo.id}" in text_of(client.get(f"/demand/show/{demand.id}"))
    assert as_user("worker2").get(f"/demand/photo/{photo.id}").status_code == 404
    assert as_user("grid2").get(f"/demand/photo/{photo.id}").status_code == 404
    assert client.get("/demand/photo/999999").status_code == 404


@pytest.mark.parametrize("files, message", [
    ([(b"this is not a jpeg", "fake.jpg")], "不是 JPEG、PNG 或 WebP 照片：fake.jpg"),
    ([(png_bytes(), "ok.png"), (b"GIF89a....", "anim.gif")], "不是 JPEG、PNG 或 WebP 照片：anim.gif"),
    ([(png_bytes(), f"p{i}.png") for i in range(7)], "每条需求最多 6 张照片。"),
])
def test_intake_refuses_bad_photos_and_files_nothing(ctx, as_user, uploads, files, message):
    before, photos = count(Demand), count(DemandPhoto)
    response = as_user("grid1").post("/service/intake/", content_type="multipart/form-data", data={
        **_intake_form(), "photos": [(io.BytesIO(content), name) for content, name in files]})
    assert response.status_code == 200 and message in text_of(response)
    assert count(Demand) == before and count(DemandPhoto) == photos
    assert not list(uploads.rglob("*.*"))


def test_intake_is_for_those_who_write_demands(as_user):
    for username in ("leader", "partner", "volunteer", "street"):
        assert as_user(username).get("/service/intake/").status_code == 403, username
        assert as_user(username).post("/service/intake/", data={"title": "x"}).status_code == 403, username


# ============================================================================= 6. REST

def _jwt(client, username) -> dict:
    response = client.post("/api/v1/security/login", json={"username": username, "password": "Hongse@2026",
                                                           "provider": "db"})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _message(body) -> str:
    return str(body.get("message"))


def test_rest_actions_with_a_token(app, client, ctx):
    """With a bearer token (CSRF checked, as in production: a token needs none)."""
    demand = new_demand()
    with csrf_checked(app):
        _rest_walk(client, demand)


def _rest_walk(client, demand):
    worker, partner = _jwt(client, "worker"), _jwt(client, "partner")
    response = client.post(f"/api/v1/demand/{demand.id}/dispatch", headers=worker, json={"unit": unit().id})
    assert response.status_code == 200, response.json
    assert response.json["status"] == DISPATCHED and response.json["status_label"] == "已派单"
    assert response.json["result"]["number"] == demand.number
    # the partner may not dispatch: 422 with the reason
    refused = client.post(f"/api/v1/demand/{demand.id}/dispatch", headers=partner, json={"pool": True})
    assert refused.status_code == 422 and "您的角色不能执行此操作。" in _message(refused.json)
    # a step the state does not allow
    early = client.post(f"/api/v1/demand/{demand.id}/resolve", headers=partner, json={"result": "x", "evidence": "y"})
    assert early.status_code == 422 and "不能" in _message(early.json)
    assert client.post(f"/api/v1/demand/{demand.id}/take", headers=partner, json={}).json["status"] == TAKEN
    assert client.post(f"/api/v1/demand/{demand.id}/start", headers=partner).json["status"] == IN_PROGRESS
    missing = client.post(f"/api/v1/demand/{demand.id}/resolve", headers=partner, json={"result": "已修好"})
    assert missing.status_code == 422 and "凭证" in _message(missing.json)
    done = client.post(f"/api/v1/demand/{demand.id}/resolve", headers=partner,
                       json={"result": "已修好", "evidence": "照片"})
    assert done.json["status"] == RESOLVED
    assert client.post(f"/api/v1/demand/{demand.id}/rate", headers=worker, json={"rating": 7}).status_code == 422
    assert client.post(f"/api/v1/demand/{demand.id}/rate", headers=worker, json={"rating": 5}).json["status"] == RATED
    assert client.post(f"/api/v1/demand/{demand.id}/reopen", headers=worker,
                       json={"note": "复发"}).json["status"] == PENDING
    assert client.post(f"/api/v1/demand/{demand.id}/cancel", headers=worker,
                       json={"note": "撤回"}).json["status"] == CANCELLED
    assert events_of(demand) == ["create", "dispatch", "take", "start", "resolve", "rate", "reopen", "cancel"]


def test_rest_action_errors(client, ctx):
    demand = new_demand()
    worker = _jwt(client, "worker")
    for action in ("timeout", "create", "fly"):
        response = client.post(f"/api/v1/demand/{demand.id}/{action}", headers=worker, json={})
        assert response.status_code == 404, action
    assert client.post("/api/v1/demand/999999/dispatch", headers=worker, json={"pool": True}).status_code == 404
    bad = client.post(f"/api/v1/demand/{demand.id}/dispatch", headers=worker, data="pool=1",
                      content_type="text/plain")
    assert bad.status_code == 400 and "JSON" in _message(bad.json)
    broken = client.post(f"/api/v1/demand/{demand.id}/dispatch", headers=worker, data="{not json",
                         content_type="application/json")
    assert broken.status_code == 400
    # another community's worker does not see it; nobody signed in is 401
    other = client.post(f"/api/v1/demand/{demand.id}/dispatch", headers=_jwt(client, "worker2"), json={"pool": True})
    assert other.status_code == 404
    assert client.post(f"/api/v1/demand/{demand.id}/dispatch", json={"pool": True}).status_code == 401
    assert fresh(demand).status == PENDING and events_of(demand) == ["create"]


def test_rest_actions_with_the_session(ctx, as_user):
    demand = new_demand()
    response = as_user("worker").post(f"/api/v1/demand/{demand.id}/dispatch", json={"pool": True})
    assert response.status_code == 200 and response.json["status"] == DISPATCHED
    assert fresh(demand).in_pool


def test_rest_action_needs_csrf_with_the_session(app, ctx, as_user):
    demand = new_demand()
    client = as_user("worker")
    with csrf_checked(app):
        response = client.post(f"/api/v1/demand/{demand.id}/dispatch", json={"pool": True})
    assert response.status_code == 400 and fresh(demand).status == PENDING


def test_openapi_lists_the_action_endpoint(client, ctx):
    headers = _jwt(client, "worker")
    spec = client.get("/api/v1/_openapi", headers=headers).json
    paths = spec["paths"]
    key = next(k for k in paths if k.endswith("/demand/{pk}/{action}"))
    post = paths[key]["post"]
    action = next(p for p in post["parameters"] if p["name"] == "action")
    assert {"dispatch", "claim", "start", "resolve", "rate", "reopen", "cancel"} <= set(action["schema"]["enum"])
    assert "timeout" not in action["schema"]["enum"]
    assert set(action["schema"]["enum"]) == set(machine.TRANSITIONS) - {"timeout"}
    assert {"200", "404", "422"} <= {str(code) for code in post["responses"]}


def _api_demand(**values) -> dict:
    body = {"title": "接口登记", "description": "通过接口登记的需求", "category": category().id, "source": "phone",
            "requester_name": "接口居民", "requester_phone": "13900004444",
            "compound": compound_in(grid1_code()).id, "demand_class": "urgent", "priority": "normal"}
    body.update(values)
    return body


def test_creating_a_demand_through_the_api(client, ctx):
    headers = _jwt(client, "worker")
    before = count(Demand)
    response = client.post("/api/v1/demand/", headers=headers, json=_api_demand())
    assert response.status_code == 201, response.json
    demand = db.session.get(Demand, response.json["id"])
    assert NUMBER.match(demand.number) and demand.number == f"WH-{demand.created_at.year}-{demand.id:06d}"
    assert demand.status == PENDING and demand.community_id == f.community().id
    first = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)).one()
    assert first.action == "create" and first.actor_id == f.user("worker").id
    # the status and the number are not the client's to set
    forced = client.post("/api/v1/demand/", headers=headers, json=_api_demand(status="rated",
                                                                              number="WH-1999-000001"))
    assert forced.status_code == 422 and set(forced.json["message"]) == {"status", "number"}
    assert count(Demand) == before + 1


def test_an_api_demand_cannot_skip_the_requester_by_claiming_to_be_open311(client, ctx):
    headers = _jwt(client, "worker")
    before = count(Demand)
    response = client.post("/api/v1/demand/", headers=headers, json=_api_demand(
        source="open311", requester_name=None, requester_phone=None))
    assert response.status_code == 422 and count(Demand) == before


def test_an_api_demand_with_a_long_description_is_refused(client, ctx):
    headers = _jwt(client, "worker")
    before = count(Demand)
    response = client.post("/api/v1/demand/", headers=headers, json=_api_demand(description="字" * 4001))
    assert response.status_code == 422 and "4000" in str(response.json["message"])
    assert count(Demand) == before
    missing = client.post("/api/v1/demand/", headers=headers, json=_api_demand(requester_name=None,
                                                                               requester_phone=None))
    assert missing.status_code == 422 and "诉求人" in str(missing.json["message"])
    assert count(Demand) == before


# ============================================================================= 7. notifications

def _unread_badge(page: str):
    found = re.search(r'<span class="badge" id="unread-count">(\d+)</span>', page)
    return int(found.group(1)) if found else None


def test_the_unit_is_told_of_a_dispatch_and_opens_the_notice(ctx, as_user):
    partner = f.user("partner")
    unread = count(Notification, Notification.user_id == partner.id, Notification.read_at.is_(None))
    demand = new_demand(title="通知测试需求")
    as_user("worker").post(f"/demand/act/{demand.id}/dispatch", data={"target": "unit", "unit": unit().id})
    notice = db.session.scalars(select(Notification).where(Notification.user_id == partner.id,
                                                           Notification.demand_id == demand.id)).one()
    assert notice.kind == "dispatched" and notice.read_at is None
    client = as_user("partner")
    inbox = text_of(client.get("/service/notifications/"))
    assert _unread_badge(inbox) == unread + 1
    assert f"需求 {demand.number} 已派给您：通知测试需求" in inbox
    assert f"/service/notifications/open/{notice.id}" in inbox
    # someone else's notice is not there for them
    assert as_user("worker").post(f"/service/notifications/open/{notice.id}").status_code == 404
    assert as_user("worker").post("/service/notifications/open/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is None
    # opening marks it read and shows the demand
    opened = client.post(f"/service/notifications/open/{notice.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/demand/show/{demand.id}")
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None
    page = text_of(client.get(opened.headers["Location"]))
    assert _unread_badge(page) == (unread or None)
    # opening it again changes nothing and still shows the demand
    assert client.post(f"/service/notifications/open/{notice.id}").status_code == 302


def test_read_all_clears_the_badge(ctx, as_user):
    partner = f.user("partner")
    for _ in range(2):
        machine.act(new_demand(), "dispatch", f.user("worker"), unit=unit())
    mine = count(Notification, Notification.user_id == partner.id, Notification.read_at.is_(None))
    others = count(Notification, Notification.user_id != partner.id, Notification.read_at.is_(None))
    assert mine >= 2
    client = as_user("partner")
    assert _unread_badge(text_of(client.get("/"))) == mine
    response = client.post("/service/notifications/read-all", follow_redirects=True)
    page = text_of(response)
    assert response.status_code == 200 and "所有通知已标为已读。" in page
    assert _unread_badge(page) is None and 'id="unread-count"' not in page
    assert count(Notification, Notification.user_id == partner.id, Notification.read_at.is_(None)) == 0
    assert count(Notification, Notification.user_id != partner.id, Notification.read_at.is_(None)) == others


def test_the_grid_worker_is_told_when_their_demand_is_resolved(ctx, as_user):
    demand = new_demand(by="grid1")
    for action, user, data in (("dispatch", "worker", {"unit": unit()}), ("take", "partner", {}),
                               ("resolve", "partner", {"result": "已疏通", "evidence": "照片"})):
        machine.act(demand, action, f.user(user), **data)
    inbox = text_of(as_user("grid1").get("/service/notifications/"))
    assert f"您登记的需求 {demand.number} 已办结：{demand.title}" in inbox


# ============================================================================= 8. visit → demand

def _visit_with_findings(grid_id):
    from models.people.care import Visit

    return db.session.scalars(select(Visit).where(Visit.grid_id == grid_id, Visit.findings.isnot(None),
                                                  Visit.findings != "").order_by(Visit.id)).first()


@pytest.mark.parametrize("username", ["grid1", "worker"])
def test_a_demand_filed_from_a_visit(ctx, as_user, username):
    visit = _visit_with_findings(f.user("grid1").scope_grid_id)
    client = as_user(username)
    page = text_of(client.get(f"/visit/show/{visit.id}"))
    assert f'action="/demand/from-visit/{visit.id}"' in page and 'name="category"' in page
    before = count(Demand)
    response = client.post(f"/demand/from-visit/{visit.id}", data={"category": category("elderly").id,
                                                                   "demand_class": "urgent"})
    assert response.status_code == 302 and "/demand/show/" in response.headers["Location"]
    assert count(Demand) == before + 1
    demand = db.session.scalars(select(Demand).order_by(Demand.id.desc())).first()
    assert demand.visit_id == visit.id and demand.requester_id == visit.person_id
    assert demand.source == "grid_visit" and demand.category.code == "elderly" and demand.demand_class == "urgent"
    assert demand.title == visit.findings.strip().splitlines()[0][:100]
    assert demand.created_by_id == f.user(username).id
    shown = text_of(client.get(response.headers["Location"]))
    assert f"已根据走访登记需求 {demand.number}。" in shown
    visit_page = text_of(client.get(f"/visit/show/{visit.id}"))
    assert "根据这次走访登记的需求" in visit_page and demand.number in visit_page


def test_a_demand_from_a_visit_needs_a_category_and_findings(ctx, as_user):
    visit = _visit_with_findings(f.user("grid1").scope_grid_id)
    client = as_user("grid1")
    before = count(Demand)
    for form in ({}, {"category": ""}, {"category": "999999"}, {"category": "abc"}):
        response = client.post(f"/demand/from-visit/{visit.id}", data=form)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/visit/show/{visit.id}")
        assert "请选择需求类别。" in text_of(client.get(response.headers["Location"]))
    assert count(Demand) == before
    visit.findings = "  "
    db.session.commit()
    response = client.post(f"/demand/from-visit/{visit.id}", data={"category": category().id},
                           follow_redirects=True)
    assert "这次走访没有发现需要办理的事项" in text_of(response)
    assert count(Demand) == before
    assert 'action="/demand/from-visit/' not in text_of(client.get(f"/visit/show/{visit.id}"))


def test_a_demand_from_a_visit_keeps_to_the_known_classes(ctx, as_user):
    visit = _visit_with_findings(f.user("grid1").scope_grid_id)
    as_user("grid1").post(f"/demand/from-visit/{visit.id}", data={"category": category().id,
                                                                  "demand_class": "whenever"})
    made = db.session.scalars(select(Demand).where(Demand.visit_id == visit.id)).all()
    assert all(d.demand_class in demands.CLASSES for d in made)


def test_who_may_not_file_from_a_visit(ctx, as_user):
    from models.people.care import CareGroup
    from models.people.people import Person

    visit = _visit_with_findings(f.user("grid1").scope_grid_id)
    before = count(Demand)
    # the leader reads no care records at all; another community does not see the visit
    assert as_user("leader").get(f"/visit/show/{visit.id}").status_code == 403
    assert as_user("leader").post(f"/demand/from-visit/{visit.id}", data={"category": category().id}) \
        .status_code == 403
    assert as_user("worker2").post(f"/demand/from-visit/{visit.id}", data={"category": category().id}) \
        .status_code == 404
    other_grid = _visit_with_findings(f.user("grid2").scope_grid_id)
    if other_grid is not None:
        assert as_user("grid1").post(f"/demand/from-visit/{other_grid.id}",
                                     data={"category": category().id}).status_code == 404
    # a volunteer logs visits but files no demand: their visit page has no form
    member = volunteer_member()
    person = db.session.scalars(select(Person).where(Person.care_group.has(CareGroup.members.contains(member)))
                                .order_by(Person.id)).first()
    client = as_user("volunteer")
    made = client.post("/api/v1/visit/", json={"person": person.id, "members": [member.id],
                                                "findings": "厨房水管漏水", "mode": "phone"})
    assert made.status_code == 201, made.json
    page = client.get(f"/visit/show/{made.json['id']}")
    assert page.status_code == 200 and "厨房水管漏水" in text_of(page)
    assert "/demand/from-visit/" not in text_of(page)
    assert client.post(f"/demand/from-visit/{made.json['id']}", data={"category": category().id}) \
        .status_code == 403
    assert count(Demand) == before


# ============================================================================= 9. edit and delete

def _edit_form(demand, **changes) -> dict:
    form = {"title": demand.title, "description": demand.description, "category": str(demand.category_id),
            "source": demand.source, "requester": str(demand.requester_id or ""), "requester_name": "",
            "requester_phone": "", "compound": str(demand.compound_id or ""),
            "building": str(demand.building_id or ""), "address": "", "demand_class": demand.demand_class,
            "priority": demand.priority}
    form.update(changes)
    return form


def test_a_finished_demand_cannot_be_edited(ctx, as_user):
    client = as_user("worker")
    # the form as sent works for an open demand
    open_one = new_demand()
    response = client.post(f"/demand/edit/{open_one.id}", data=_edit_form(open_one, title="改过的标题"))
    assert response.status_code == 302 and fresh(open_one).title == "改过的标题"
    assert fresh(open_one).requester_name == "页面测试居民"  # an empty masked field keeps its value
    rated = in_state(RATED)
    response = client.post(f"/demand/edit/{rated.id}", data=_edit_form(rated, title="评价后改标题"))
    assert response.status_code == 200
    assert "已办结、已撤销或重复的需求不能修改；请先重新打开。" in text_of(response)
    assert fresh(rated).title == "楼道灯不亮"


def test_delete_only_a_mistaken_entry(ctx, as_user):
    client = as_user("worker")
    dispatched = in_state(DISPATCHED)
    response = client.post(f"/demand/delete/{dispatched.id}", follow_redirects=True)
    page = text_of(response)
    assert "无法删除" in page and "条办理记录（请改为撤销需求）" in page
    assert fresh(dispatched) is not None and fresh(dispatched).status == DISPATCHED
    # back to pending after a decline: its timeline has steps, so it is cancelled instead
    declined = in_state(DISPATCHED)
    machine.act(declined, "decline", None, note="人手不足")
    assert fresh(declined).status == PENDING
    assert "无法删除" in text_of(client.post(f"/demand/delete/{declined.id}", follow_redirects=True))
    assert fresh(declined) is not None
    # a fresh pending one goes, with its filing event
    mistaken = new_demand()
    pk = mistaken.id
    response = client.post(f"/demand/delete/{pk}", follow_redirects=True)
    assert response.status_code == 200 and "无法删除" not in text_of(response)
    db.session.expire_all()
    assert db.session.get(Demand, pk) is None and count(DemandEvent, DemandEvent.demand_id == pk) == 0
    # a GET deletes nothing; another community cannot delete
    kept = new_demand()
    as_user("worker").get(f"/demand/delete/{kept.id}")
    assert as_user("worker2").post(f"/demand/delete/{kept.id}").status_code == 404
    assert fresh(kept) is not None


# ============================================================================= 10. statement counts

def _statements(client, url, count_queries) -> list[str]:
    assert client.get(url).status_code == 200, url  # warm-up
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.statements


def _more_demands(n=30):
    """n more demands: pending, in the pool (the volunteer's grid), given to the partner."""
    worker, own = f.user("worker"), volunteer_member().grid.code
    for i in range(n):
        demand = new_demand("repair", own, title=f"批量需求{i:02d}")
        if i % 3 == 1:
            machine.act(demand, "dispatch", worker, pool=True)
        elif i % 3 == 2:
            machine.act(demand, "dispatch", worker, unit=unit())


def test_lists_run_the_same_statements_for_more_rows(ctx, as_user, client, count_queries):
    pages = [("worker", "/service/dispatch/?tab=pending"), ("worker", "/service/dispatch/?tab=mine"),
             ("worker", "/service/dispatch/?tab=overdue"), ("partner", "/service/orders/?tab=orders"),
             ("volunteer", "/service/orders/?tab=pool"), ("partner", "/service/orders/?tab=pool"),
             ("partner", "/service/notifications/"), (None, "/public/demands/")]
    clients = {u: (as_user(u) if u else client) for u in {u for u, _ in pages}}
    before = {(u, url): _statements(clients[u], url, count_queries) for u, url in pages}
    rows_before = {(u, url): len(desk_numbers(text_of(clients[u].get(url)))) for u, url in pages}
    _more_demands()
    for u, url in pages:
        after = _statements(clients[u], url, count_queries)
        print("COUNT", url, u, len(before[(u, url)]), len(after))
        assert len(after) == len(before[(u, url)]), (url, before[(u, url)], after)
        assert len(after) <= 12, (url, after)
    grown = [key for key in pages if "desk" not in key[1] and key[1].startswith("/service/")
             and len(desk_numbers(text_of(clients[key[0]].get(key[1])))) > rows_before[key]]
    assert len(grown) >= 3, grown  # the lists did get longer


def test_the_demand_page_runs_the_same_statements_for_a_longer_timeline(ctx, as_user, count_queries):
    short = new_demand()
    long = new_demand()
    for _ in range(6):
        machine.act(long, "dispatch", None, unit=unit())
        machine.act(long, "decline", None, note="人手不足")
    for i in range(4):
        db.session.add(DemandPhoto(demand_id=long.id, stage="intake", filename=f"p{i}.png",
                                   stored_as=f"count-test-{long.id}-{i}.png", content_type="image/png", size=1,
                                   uploaded_at=clock.now()))
    db.session.commit()
    assert len(events_of(long)) == 13 and fresh(long).status == PENDING
    client = as_user("worker")
    small = _statements(client, f"/demand/show/{short.id}", count_queries)
    large = _statements(client, f"/demand/show/{long.id}", count_queries)
    print("COUNT show", len(small), len(large))
    for st in large: print("  ", st[:150].replace("\n", " "))
    assert len(small) == len(large), (small, large)
    page = text_of(client.get(f"/demand/show/{long.id}"))
    assert page.count('class="event-') == 13 and page.count("/demand/photo/") >= 4


