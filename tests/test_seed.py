"""The demo reproduces the case study's figures and loads only once."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_figures(ctx):
    from models.kernel.orgs import Organisation, Position
    from models.kernel.places import Building, Community, Compound, Grid, Road, Station, Street, Unit

    whl = db.session.scalars(select(Community).where(Community.name == "文化路社区")).one()
    assert whl.households == 3430 and whl.population == 12250 and whl.street.name == "广场街道"
    assert len(whl.code) == 12
    mine = (Compound.community_id == whl.id,)
    assert _count(Road, Road.community_id == whl.id) == 7
    assert _count(Grid, Grid.community_id == whl.id) == 6
    assert _count(Compound, *mine) == 57
    by_type = dict(db.session.execute(select(Compound.type, func.count()).where(*mine)
                                      .group_by(Compound.type)).all())
    assert by_type == {"sanwu": 28, "property": 4, "unit_built": 17, "self_built": 8}
    assert _count(Building, Building.community_id == whl.id) == 136
    assert _count(Unit, Unit.community_id == whl.id) == 274
    assert _count(Station, Station.community_id == whl.id) == 49
    orgs = dict(db.session.execute(select(Organisation.type, func.count())
                                   .where(Organisation.community_id == whl.id)
                                   .group_by(Organisation.type)).all())
    assert orgs["grid_branch"] == 6 and orgs["party_group"] == 57
    assert orgs["owners_committee"] == 4 and orgs["self_management"] == 27
    assert orgs["resident_unit"] == 3 and orgs["local_unit"] == 4
    assert orgs["school"] == 1 and orgs["hospital"] == 1 and orgs["health_station"] == 1
    assert orgs["volunteer_team"] == 5
    assert sum(orgs[k] for k in ("consultation_committee", "mediation_committee", "security_committee",
                                 "health_committee", "environment_committee")) == 5
    big = db.session.scalars(select(Organisation).where(Organisation.name == "文化路社区大党委")).one()
    assert _count(Position, Position.organisation_id == big.id) == 14
    assert _count(Street) == 1 and _count(Community) == 2  # and 槐荫社区, to show scope


def test_grids_have_their_ab_workers(ctx):
    from models.kernel.places import Grid

    for grid in db.session.scalars(select(Grid).where(Grid.code.like("WHL-%"))):
        assert grid.primary_worker is not None and grid.backup_worker is not None
        assert grid.primary_worker is not grid.backup_worker


def test_station_linkage_follows_the_compound_type(ctx):
    from models.kernel.places import Compound, Station

    station = db.session.scalars(select(Station).join(Station.compound)
                                 .where(Compound.name == "宇辉星城")).one()
    parties = [(str(label), str(org) if org else None) for label, org in station.linkage()]
    assert [p for p, _ in parties] == ["社区居委会", "网格党支部", "业主委员会", "物业公司"]
    assert all(org for _, org in parties), parties
    sanwu = db.session.scalars(select(Station).join(Station.compound)
                               .where(Compound.name == "建材宿舍")).one()
    assert [str(p) for p, _ in sanwu.linkage()] == ["社区居委会", "自管委", "党小组"]


def test_a_second_run_adds_nothing(app, ctx):
    from seed import base, demo

    assert base.load() == 0
    assert demo.load() == {}
