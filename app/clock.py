"""The time the domain works with: one place to read it, and to freeze it in tests
(service-level times, claim timeouts, rating links)."""
from __future__ import annotations

import datetime
import os
from contextlib import contextmanager
from zoneinfo import ZoneInfo

#: the office's time zone: times are stored as naive local times of this zone, whatever
#: the server's own zone (BABEL_DEFAULT_TIMEZONE, as in config.py)
ZONE = ZoneInfo(os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))

_frozen: list = []


def now() -> datetime.datetime:
    """The office's local time now (naive), or the frozen time."""
    return _frozen[-1] if _frozen else datetime.datetime.now(ZONE).replace(tzinfo=None)


def today() -> datetime.date:
    return now().date()


@contextmanager
def frozen(at: datetime.datetime):
    """``with clock.frozen(datetime(2026, 3, 1, 9)):`` — the domain's time stands still."""
    _frozen.append(at)
    try:
        yield at
    finally:
        _frozen.pop()


def advance(**delta) -> datetime.datetime:
    """Move a frozen clock forward (``advance(hours=25)``)."""
    if not _frozen:
        raise RuntimeError("the clock is not frozen")
    _frozen[-1] = _frozen[-1] + datetime.timedelta(**delta)
    return _frozen[-1]
