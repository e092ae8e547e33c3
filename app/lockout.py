"""Sign-in lockout and the sign-in log (等保 2.0: 登录失败处理).

``LOGIN_MAX_FAILURES`` (5) failures in a row lock a key for ``LOGIN_LOCK_MINUTES`` (10):
the key is the user name for the sign-in page and the API sign-in (``user:<name>``,
whether or not such an account exists, so that a locked name and an unknown one read
alike), and the caller's address for API keys (``key:<ip>``). While locked, even the right
password is refused. The counters live in the database (``auth_lock``) and move in single
statements (an upsert that adds one and returns the count), so every worker process of
the app shares them and two processes cannot lose a failure. The security administrator
unlocks an account; every attempt, lock and unlock is written to the sign-in log
(``login_log``), which only the auditor reads.
"""
from __future__ import annotations

import datetime

from flask import current_app, has_request_context, request
from flask_babel import gettext
from sqlalchemy import delete, select, update

from app import clock, passwords, sessions
from app.extensions import db
from app.records import AuthLock, LoginLog


def user_key(username: str) -> str:
    return "user:" + (username or "").strip().lower()[:140]


def address_key(ip: str | None) -> str:
    return "key:" + (ip or "unknown")


def _settings() -> tuple[int, int]:
    return (int(current_app.config.get("LOGIN_MAX_FAILURES", 5)),
            int(current_app.config.get("LOGIN_LOCK_MINUTES", 10)))


def locked_until(key: str) -> datetime.datetime | None:
    """When the lock of ``key`` ends (None: not locked)."""
    until = db.session.scalar(select(AuthLock.locked_until).where(AuthLock.key == key))
    return until if until is not None and until > clock.now() else None


def _upsert_failure(key: str):
    """Add one failure to ``key`` in one statement; returns the new count."""
    now = clock.now()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(AuthLock).values(key=key, failures=1, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[AuthLock.key],
                                      set_={"failures": AuthLock.failures + 1, "updated_at": now})
    return db.session.execute(stmt.returning(AuthLock.failures)).scalar_one()


def record_failure(key: str) -> datetime.datetime | None:
    """Count a failure of ``key``; at the limit, lock it. Returns the end of the lock if
    this failure locked it (exactly one caller gets it, whatever runs at the same time)."""
    limit, minutes = _settings()
    if _upsert_failure(key) < limit:
        return None
    now = clock.now()
    until = now + datetime.timedelta(minutes=minutes)
    locked = db.session.execute(
        update(AuthLock).where(AuthLock.key == key, AuthLock.failures >= limit)
        .values(failures=0, locked_until=until, updated_at=now)).rowcount
    return until if locked else None


def clear(key: str) -> None:
    db.session.execute(delete(AuthLock).where(AuthLock.key == key))


def log(result: str, channel: str, username: str | None = None, user_id: int | None = None,
        note: str | None = None) -> None:
    """One row of the sign-in log (committed by the caller)."""
    ip = agent = None
    if has_request_context():
        ip = request.remote_addr
        agent = (request.user_agent.string or "")[:300] or None
    db.session.add(LoginLog(at=clock.now(), username=(username or "")[:100] or None, user_id=user_id,
                            result=result, channel=channel, ip=ip, user_agent=agent, note=note))


def locked_message(until: datetime.datetime) -> str:
    return gettext("Too many failed sign-ins: the account is locked until %(time)s. Try again then, or ask "
                   "the security administrator to unlock it.", time=until.strftime("%H:%M"))


def _retrying(work):
    """Run ``work`` again when SQLite says "database is locked": with several processes on
    one SQLite file, a transaction that read before another process wrote cannot become
    a writer (WAL snapshot) and fails at once, whatever the busy timeout; a fresh
    transaction succeeds. (PostgreSQL never needs it.)"""
    import time

    from sqlalchemy.exc import OperationalError

    for attempt in range(20):
        try:
            return work()
        except OperationalError as error:
            if "locked" not in str(error.orig) or attempt == 19:
                raise
            db.session.rollback()
            time.sleep(0.02 * (attempt + 1))


def authenticate(sm, username: str, password: str, channel: str):
    """The user whose ``username`` and ``password`` match, or None — counting failures,
    refusing locked names and logging every attempt. ``refusal`` of the request (g) says
    why, for the sign-in page and the API."""
    return _retrying(lambda: _authenticate(sm, username, password, channel))


def _authenticate(sm, username: str, password: str, channel: str):
    from flask import g
    from werkzeug.security import check_password_hash

    username = (username or "").strip()
    if not username:
        return None
    key = user_key(username)
    user = sm.find_user(username=username)
    until = locked_until(key)
    if until is not None:
        log("locked", channel, username, getattr(user, "id", None))
        db.session.commit()
        g.login_refusal = locked_message(until)
        return None
    if user is not None and user.password and password and check_password_hash(user.password, password):
        if not user.is_active:
            log("inactive", channel, username, user.id)
            db.session.commit()
            return None
        clear(key)
        if channel != "web":
            if passwords.must_change(user):  # the page leads to the form; the API cannot
                log("must_change", channel, username, user.id)
                db.session.commit()
                g.login_refusal = passwords.api_refusal()
                g.must_change_password_first = True
                return None
        sm.update_user_auth_stat(user, True)  # (commits)
        if channel == "web":
            sessions.start(user)
        log("success", channel, username, user.id)
        db.session.commit()
        return user
    if user is None:  # as long as a right one (the same work, so time tells nothing)
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
    until = record_failure(key)
    log("bad_password", channel, username, getattr(user, "id", None))
    if until is not None:
        log("lock", channel, username, getattr(user, "id", None),
            note=gettext("Locked until %(time)s", time=until.strftime("%Y-%m-%d %H:%M")))
        g.login_refusal = locked_message(until)
    db.session.commit()
    return None


def check_address(channel: str = "api_key") -> str | None:
    """A message if the caller's address is locked for API keys, else None."""
    until = locked_until(address_key(request.remote_addr if has_request_context() else None))
    return locked_message(until) if until is not None else None


def key_failed(channel: str = "api_key") -> None:
    """A wrong API key from the caller's address: counted (and logged), locked at the limit."""
    _retrying(lambda: _key_failed(channel))


def _key_failed(channel: str) -> None:
    key = address_key(request.remote_addr if has_request_context() else None)
    until = record_failure(key)
    log("bad_password", channel, note=gettext("Wrong API key"))
    if until is not None:
        log("lock", channel, note=gettext("Locked until %(time)s", time=until.strftime("%Y-%m-%d %H:%M")))
    db.session.commit()


def key_succeeded() -> None:
    clear(address_key(request.remote_addr if has_request_context() else None))


def unlock(user) -> bool:
    """The security administrator lifts the lock of ``user`` (logged). Whether it was locked."""
    key = user_key(user.username)
    was = locked_until(key) is not None
    clear(key)
    from flask_login import current_user

    actor = getattr(current_user, "username", None) if has_request_context() else None
    log("unlock", "web", user.username, user.id, note=gettext("By %(name)s", name=actor or "-"))
    db.session.commit()
    return was
