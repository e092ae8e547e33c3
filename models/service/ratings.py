"""The requester's rating link: a one-use token, made by the staff once a demand is
resolved, by which the requester rates the service without an account."""
from __future__ import annotations

import datetime
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app import clock, domain
from app.extensions import db
from models.service.demands import Demand, RatingToken, hash_secret
from models.service.machine import RATE, REQUESTER, act, missing

def rating_link(demand, days: int | None = None) -> str:
    """A new one-use token for the requester to rate ``demand`` (returned once)."""
    from flask import current_app

    days = days or int(current_app.config.get("RATING_LINK_DAYS", 7))
    token = secrets.token_urlsafe(24)
    db.session.add(RatingToken(demand=demand, token_hash=hash_secret(token),
                               expires_at=clock.now() + datetime.timedelta(days=days)))
    db.session.commit()
    return token


def rating_token(token: str):
    """The unused, unexpired rating link of ``token``, or None."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalars(select(RatingToken).where(RatingToken.token_hash == hash_secret(token))).first()
    if row is None or row.used_at is not None or row.expires_at < clock.now():
        return None
    return row


def rate_by_token(token: str, rating: int, comment: str | None = None) -> Demand:
    """The requester rates through the link: once, before it expires; the token is
    spent only by a rating that is taken."""
    row = rating_token(token)
    if row is None:
        raise domain.DomainError(_l("This rating link is not valid (used or expired)."))
    if missing(RATE, row.demand, None, {"rating": rating}) is not None:
        raise domain.DomainError(missing(RATE, row.demand, None, {"rating": rating}))
    # spent atomically: of two submissions at once, one rates
    spent = db.session.execute(update(RatingToken).where(RatingToken.id == row.id, RatingToken.used_at.is_(None))
                               .values(used_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        db.session.rollback()
        raise domain.DomainError(_l("This rating link is not valid (used or expired)."))
    return act(row.demand, RATE, None, actor=REQUESTER, rating=rating, comment=comment)
