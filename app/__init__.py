"""The 红色驿站 platform: application factory."""
from __future__ import annotations

import logging
import os

# FAB's security models configure the mappers when imported: imported first, before any engine
# table exists, so that a Tracked table's user link waits for the domain's user model
import flask_appbuilder.security.sqla.manager  # noqa: F401
from flask import Flask, request

from app.extensions import csrf
from config import DEV_SECRET_KEY, INSTANCE_DIR, Config, from_environment

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    pass


def create_app(config: type | dict | None = None, **overrides) -> Flask:
    """Build the application.

    :param config: a settings class (default :class:`config.Config`) or dict; every
        setting in it can be overridden from the environment
    :param overrides: settings that win over both (used by tests)
    """
    settings = from_environment(config or Config)
    settings.update(overrides)
    if settings.get("APP_ENV") not in ("development", "testing") \
            and settings.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise ConfigurationError(
            "SECRET_KEY must be set to a secret value outside development "
            "(APP_ENV=%s)." % settings.get("APP_ENV"))

    app = Flask(__name__, instance_path=INSTANCE_DIR,
                template_folder="templates", static_folder="static")
    app.config.update(settings)
    from app import inputs

    inputs.install_converters(app)  # before any route: ids in URLs are bounded
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(os.path.dirname(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]) or ".",
                    exist_ok=True)

    from app import api, cli, errors, extensions, registry

    with app.app_context():
        from app import security  # noqa: F401

        domain = _import_domain(app)  # before the security manager: it maps the registered user model
        # the engine's own tables, whatever the domain (after it: they link to its user model)
        from app import audit, dictionary, jobs, records  # noqa: F401  (audit: the session events writing the log)
        appbuilder = extensions.init_extensions(app)
        security.install_permission_labels()
        api.install()
        api.install_jwt_messages(appbuilder.sm.jwt_manager)
        registry.register_all(appbuilder, domain)
        from app import ratelimit

        app.before_request(ratelimit.check)
        app.before_request(api.check_rison)
        _install_csrf(app)
        _install_headers(app)
        from app import health, logs

        logs.configure(app)
        app.register_blueprint(health.blueprint)
        _install_sessions(app)
        _install_jinja(app)
        app.add_url_rule("/favicon.ico", "favicon", _favicon)
        cli.register(app)
        errors.register(app)
        inputs.install(app)  # first of the before-request functions
    return app


def _import_domain(app: Flask) -> list:
    """The modules named in ``DOMAIN`` (config.py), imported in order: importing them
    declares the entities and registers what the engine needs. A home page
    (``FAB_INDEX_VIEW``) from a package that is not loaded gives way to FAB's own."""
    import importlib

    names = list(app.config.get("DOMAIN") or [])
    modules = [importlib.import_module(name) for name in names]
    index = app.config.get("FAB_INDEX_VIEW") or ""
    if index and index.split(".")[0] not in {name.split(".")[0] for name in names} | {"app", "flask_appbuilder"}:
        app.config["FAB_INDEX_VIEW"] = None
    return modules


def _favicon():
    """The tab's icon (browsers ask for /favicon.ico on pages that name none)."""
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


#: the Content-Security-Policy of every page: scripts, styles, pictures, fonts and requests
#: from this server only; inline scripts only with the page's nonce; no framing
_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _install_headers(app: Flask) -> None:
    """Security headers on every response (等保 2.0; a page may set a stricter CSP of its
    own, as served uploads do): a nonce per request for the inline scripts of the
    templates (FAB's ``baselib.get_nonce()`` reads ``csp_nonce()``)."""
    import secrets

    from flask import g

    import re
    import uuid

    from flask import request

    good_id = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

    @app.before_request
    def _nonce():
        g.csp_nonce = secrets.token_urlsafe(18)
        # the request id: the proxy's (X-Request-ID) when it looks like one, else ours;
        # written to the audit log and answered in the response
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if good_id.match(given) else uuid.uuid4().hex

    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")

    @app.after_request
    def _headers(response):
        nonce = g.get("csp_nonce") or secrets.token_urlsafe(18)
        response.headers.setdefault("Content-Security-Policy", _CSP.format(nonce=nonce))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), payment=(), usb=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response


def _install_sessions(app: Flask) -> None:
    """Idle and absolute session limits, sessions ended by a password change, and the
    password one must change first (app.sessions, app.passwords)."""
    from app import passwords, sessions

    app.config["FAB_PASSWORD_COMPLEXITY_ENABLED"] = True
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", passwords.validator)
    app.before_request(sessions.check)


def _install_csrf(app: Flask) -> None:
    """CSRF on every state-changing request, except API calls that authenticate with
    a bearer token (a browser cannot be tricked into sending one)."""
    @app.before_request
    def _csrf():
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith("/api/") and \
                request.headers.get("Authorization", "").lower().startswith("bearer "):
            return
        if request.path == "/api/v1/security/login":
            return  # username and password are the credential; no session is used
        if request.path.startswith("/open311/"):
            return  # Open311 clients authenticate with an api_key and never with the session
        csrf.protect()


def _memoize_translations() -> None:
    """Flask-Babel looks the catalog up again for every string (context, locale, cache key):
    a list page translates a few thousand labels, and that lookup was a third of its
    rendering time. Keep the catalog found on the request's babel context, for as long as
    its locale stays the same (``flask_babel.refresh()`` drops the locale, so it is found
    again)."""
    import flask_babel

    if getattr(flask_babel.Domain.get_translations, "_memoized", False):
        return
    find = flask_babel.Domain.get_translations
    context = flask_babel._get_current_context

    def get_translations(self):
        ctx = context()
        if ctx is None:
            return find(self)
        memo = ctx.__dict__.get("hongse_translations")
        locale = ctx.__dict__.get("babel_locale")
        if memo is not None and memo[0] is self and locale is not None and memo[1] is locale:
            return memo[2]
        translations = find(self)
        ctx.hongse_translations = (self, ctx.__dict__.get("babel_locale"), translations)
        return translations

    get_translations._memoized = True
    flask_babel.Domain.get_translations = get_translations


def _install_jinja(app: Flask) -> None:
    _memoize_translations()
    from app import crud
    from app.dictionary import label_of

    app.jinja_env.globals.update(format_value=crud.format_value, dict_label=label_of)
    # the menu bar's unread count: a context that keeps notices registers its own function
    # when its views are installed (jinja_env.globals["unread_notices"]); none: no badge
    app.jinja_env.globals.setdefault("unread_notices", _no_unread_notices)


def _no_unread_notices():
    """The menu bar's unread count when no context keeps notices: none shown."""
    return None
