"""Small builders for test data; everything goes through app.domain.save."""
from __future__ import annotations

import itertools

from sqlalchemy import insert, select

from app import domain
from app.extensions import db

_seq = itertools.count(1)


def n() -> int:
    return next(_seq)


def street():
    from models.kernel.places import Street

    return db.session.scalars(select(Street).where(Street.name == "广场街道")).one()


def community(name: str = "文化路社区"):
    from models.kernel.places import Community

    return db.session.scalars(select(Community).where(Community.name == name)).one()


def grid(community_name: str = "文化路社区", code: str | None = None):
    from models.kernel.places import Grid

    stmt = select(Grid).join(Grid.community).where(Grid.community.has(name=community_name))
    if code:
        stmt = stmt.where(Grid.code == code)
    return db.session.scalars(stmt.order_by(Grid.code)).first()


def new_community(name: str | None = None, **values):
    from models.kernel.places import Community

    i = n()
    return domain.save(Community(street=street(), name=name or f"测试社区{i}",
                                 code=values.pop("code", f"420902003{500 + i:03d}"), **values))


def new_grid(community, name: str | None = None, **values):
    from models.kernel.places import Grid

    i = n()
    return domain.save(Grid(community=community, code=values.pop("code", f"T-{i:04d}"),
                            name=name or f"测试网格{i}", **values))


def new_compound(community, grid=None, name: str | None = None, type: str = "sanwu", **values):
    from models.kernel.places import Compound

    return domain.save(Compound(community=community, grid=grid, name=name or f"测试小区{n()}",
                                type=type, **values))


def bulk_compounds(community, grid, count: int, prefix: str = "批量小区") -> None:
    """Many compounds at once (no per-row validation: for volume tests only)."""
    from models.kernel.places import Compound

    db.session.execute(insert(Compound), [
        {"community_id": community.id, "grid_id": grid.id if grid else None,
         "name": f"{prefix}{i:05d}", "type": "sanwu"} for i in range(count)])
    db.session.commit()


def bulk_grids(community, count: int, prefix: str = "批量网格") -> None:
    from models.kernel.places import Grid

    db.session.execute(insert(Grid), [
        {"community_id": community.id, "code": f"B{i:05d}", "name": f"{prefix}{i:05d}"}
        for i in range(count)])
    db.session.commit()


def user(username: str):
    from models.kernel.users import AppUser

    return db.session.scalars(select(AppUser).where(AppUser.username == username)).one()
