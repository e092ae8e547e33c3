"""Password policy (等保 2.0 身份鉴别) and the duty to change a password set by someone else.

One rule for every place a password is set — the new-account form, the administrator's
reset, the user's own change, FAB's user API: it plugs in as FAB's password complexity
validator (``FAB_PASSWORD_COMPLEXITY_VALIDATOR``), and finds from the request whose
password it is. A password has at least ``PASSWORD_MIN_LENGTH`` (8) characters of at
least ``PASSWORD_MIN_CLASSES`` (3) of the four classes (lower case, upper case, digits,
other characters), does not contain the user name, and is none of the user's last
``PASSWORD_HISTORY`` (5).

A password set by someone else (a new account, an administrator's reset) must be
changed at the next sign-in; so must one older than ``PASSWORD_MAX_AGE_DAYS`` (0: never).
The demo's documented accounts (whose password is in the README; the demo registers them
with :func:`register_demo_accounts`) are exempt only while the app runs with ``DEMO_MODE``
(``make run``; never in production configuration).
"""
from __future__ import annotations

import datetime
import re

from flask import current_app, g, has_request_context, request
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.security import check_password_hash

from app import clock
from app.extensions import db

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def problems(password: str, username: str | None = None, user=None) -> list[str]:
    """What is wrong with ``password`` for this user (empty: it may be used)."""
    from app.records import PasswordHistory  # deferred: app.records imports this module (via app.crud, app.api)

    password = password or ""
    found = []
    least = _setting("PASSWORD_MIN_LENGTH", 8)
    classes = _setting("PASSWORD_MIN_CLASSES", 3)
    if len(password) < least:
        found.append(gettext("At least %(n)s characters.", n=least))
    if sum(1 for c in _CLASSES if c.search(password)) < classes:
        found.append(gettext("At least %(n)s of these four: lower-case letters, capitals, digits, other "
                             "characters.", n=classes))
    username = username or getattr(user, "username", None)
    if username and username.strip() and username.strip().lower() in password.lower():
        found.append(gettext("It must not contain the user name."))
    if user is not None and getattr(user, "id", None) is not None:
        keep = _setting("PASSWORD_HISTORY", 5)
        hashes = db.session.scalars(select(PasswordHistory.password_hash)
                                    .where(PasswordHistory.user_id == user.id)
                                    .order_by(PasswordHistory.changed_at.desc(), PasswordHistory.id.desc())
                                    .limit(keep)).all()
        if any(check_password_hash(h, password) for h in hashes):
            found.append(gettext("It must not be one of your last %(n)s passwords.", n=keep))
    return found


def _whose():
    """(user name, user) of the password being set in this request."""
    if not has_request_context():
        return None, None
    path = request.path
    if path.startswith("/resetmypassword"):
        user = getattr(g, "user", None)
        return getattr(user, "username", None), user
    if path.startswith("/resetpassword"):
        from app.api import bounded_int  # deferred: app.api imports this module (via app.sessions)

        pk = bounded_int(request.args.get("pk"), low=1)
        user = db.session.get(current_app.appbuilder.sm.user_model, pk) if pk else None
        return getattr(user, "username", None), user
    if path.startswith("/api/"):
        data = request.get_json(silent=True) or {}
        return data.get("username"), None
    return request.form.get("username"), None


def validator(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: raises FAB's error with every problem found."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    username, user = _whose()
    found = problems(password, username, user)
    if found:
        raise PasswordComplexityValidationError(" ".join(found))


def remember(user, password_hash: str, *, seeded: bool = False) -> None:
    """A password was set: keep its hash in the history; note when and move the session
    epoch (``seeded``: the demo's published password, which counts as never changed)."""
    from app.records import PasswordHistory  # deferred: app.records imports this module (via app.crud, app.api)

    db.session.add(PasswordHistory(user_id=user.id, password_hash=password_hash, changed_at=clock.now()))
    if not seeded:
        user.password_changed_at = clock.now()
        user.session_epoch = (getattr(user, "session_epoch", None) or 0) + 1


#: the user names of the demo's documented accounts (registered by the demo, seed/__init__.py)
_demo_accounts: set[str] = set()


def register_demo_accounts(usernames) -> None:
    """Register the demo's documented accounts: while the app runs with DEMO_MODE, they
    keep their published password (:func:`demo_exempt`)."""
    _demo_accounts.update(usernames)


def demo_exempt(user) -> bool:
    """The demo's documented accounts with their published password (never changed since
    the seed), while the app runs with DEMO_MODE."""
    if not current_app.config.get("DEMO_MODE") or getattr(user, "password_changed_at", None) is not None:
        return False
    return user.username in _demo_accounts and (user.email or "").endswith("@demo.invalid")


def api_refusal() -> str:
    """Why the API refuses an account that must change its password (no token, no key)."""
    from flask_babel import gettext

    return gettext("This account must change its password first: sign in on the web page, choose a new "
                   "password there, then use the API again.")


def must_change(user) -> bool:
    """Whether ``user`` has to choose a new password before anything else."""
    if user is None or demo_exempt(user):
        return False
    if getattr(user, "must_change_password", False):  # FAB's own User has none of these columns
        return True
    days = _setting("PASSWORD_MAX_AGE_DAYS", 0)
    if days and getattr(user, "password_changed_at", None) is not None:
        return clock.now() - user.password_changed_at > datetime.timedelta(days=days)
    return False
