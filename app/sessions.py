"""Sessions (等保 2.0 会话管理): a signed-in page session ends after ``SESSION_IDLE_MINUTES``
(30) without a request and ``PERMANENT_SESSION_LIFETIME`` (8 hours) after the sign-in,
whatever the activity; a password change ends the user's other sessions (their epoch
no longer matches); a user who must choose a new password (app.passwords) can open
nothing else until they have. The session cookie is HttpOnly and SameSite=Lax, and
Secure when ``SESSION_COOKIE_SECURE`` is set (behind HTTPS).
"""
from __future__ import annotations

import time

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext

from app import passwords

#: what a user who must change their password may still open
_ALLOWED_WHILE_CHANGING = {"ResetMyPasswordView.this_form_get", "ResetMyPasswordView.this_form_post",
                           "LoginView.logout", "AuthDBView.logout", "LocaleView.index", "favicon"}


def _now() -> float:
    """Wall-clock seconds: a session's age is real time, whatever the domain's clock says
    (tests move the domain clock; they move this one by replacing the function)."""
    return time.time()


def start(user) -> None:
    """A page session begins (at the sign-in)."""
    session["auth_at"] = session["seen_at"] = _now()
    session["epoch"] = epoch(user)


def keep(user) -> None:
    """The user changed their own password: this session goes on, the others end."""
    session["epoch"] = epoch(user)


def epoch(user) -> int:
    """The account's session epoch (0 for a user model without one, FAB's own ``User``)."""
    return getattr(user, "session_epoch", None) or 0


def _ended(message: str):
    from flask_login import logout_user

    logout_user()
    session.clear()
    if request.path.startswith("/api/"):
        response = jsonify(message=message)
        response.status_code = 401
        return response
    flash(message, "warning")
    return redirect(url_for("LoginView.login", next=request.full_path if request.method == "GET" else None))


def check():
    """Before every request of a page session: end it if idle, too old or superseded;
    send a user who must change their password to the form."""
    from flask_login import current_user

    if request.endpoint in ("static", "appbuilder.static") or not session.get("_user_id"):
        return None
    if not current_user.is_authenticated:
        return None
    now = _now()
    idle = float(current_app.config.get("SESSION_IDLE_MINUTES", 30)) * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    seen, began = session.get("seen_at"), session.get("auth_at")
    if seen is None or began is None:  # a session from before these rules: starts now
        start(current_user)
    elif now - seen > idle:
        return _ended(gettext("You were signed out after %(n)s minutes without activity. Please sign in "
                              "again.", n=int(idle // 60)))
    elif now - began > lifetime:
        return _ended(gettext("The sign-in has expired. Please sign in again."))
    elif session.get("epoch", 0) != epoch(current_user):
        return _ended(gettext("The password of this account was changed. Please sign in again."))
    session["seen_at"] = now
    if passwords.must_change(current_user) and request.endpoint not in _ALLOWED_WHILE_CHANGING:
        message = gettext("Please choose a new password first: the one you have was set by someone else "
                          "or is too old.")
        if request.path.startswith("/api/"):
            response = jsonify(message=message)
            response.status_code = 403
            return response
        flash(message, "warning")
        return redirect(url_for("ResetMyPasswordView.this_form_get"))
    return None
