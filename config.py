"""Settings of the 红色驿站 platform.

Every upper-case attribute of :class:`Config` can be overridden from the environment
under the same name (``DATABASE_URL`` is accepted for ``SQLALCHEMY_DATABASE_URI``).
Strings are taken as they are; booleans, numbers, lists and dicts are parsed as JSON
(``FAB_API_MAX_PAGE_SIZE=50``, ``WTF_CSRF_ENABLED=false``).
"""
from __future__ import annotations

import json
import os
from datetime import timedelta

from flask_appbuilder.security.manager import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.path.join(BASE_DIR, "instance")

# Only good for development and tests; create_app() refuses it elsewhere.
DEV_SECRET_KEY = "dev-only-secret-key-change-me-0123456789"


class Config:
    # development | testing | production. Outside development and testing a real
    # SECRET_KEY is required.
    APP_ENV = "development"
    SECRET_KEY = DEV_SECRET_KEY

    # The product's name on the login page, the navbar and the home page.
    APP_NAME = "文化路社区红色驿站共治平台"
    APP_ICON = ""
    APP_THEME = ""

    SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(INSTANCE_DIR, "app.db")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # SQLite only: how long a save waits for another one to finish (milliseconds) — saves
    # take turns instead of failing; and what to do when a request writes after reading in
    # a deferred transaction ("log", or "raise" in the tests) — see app/extensions.py
    SQLITE_BUSY_TIMEOUT_MS = 15000
    SQLITE_READ_THEN_WRITE = "log"
    # Empty: no Redis. Set e.g. redis://127.0.0.1:6379/0 to use it (rate-limit storage).
    REDIS_URL = ""

    # Languages: zh is the default, en the alternate.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "简体中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Flask-AppBuilder
    AUTH_TYPE = AUTH_DB
    # FAB's built-in roles: the all-permissions role is bound to no demo user (三员:
    # nobody holds everything); the public role (visitors not signed in) holds nothing.
    AUTH_ROLE_ADMIN = "框架管理员"
    AUTH_ROLE_PUBLIC = "未登录访客"
    AUTH_USER_REGISTRATION = False
    FAB_UPDATE_PERMS = False  # permissions are written by `flask roles sync`
    FAB_CREATE_DB = False  # the schema belongs to the migrations
    FAB_ADD_SECURITY_API = False  # crashes with marshmallow 4 (FAB #2425); not needed
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_SECURITY_MANAGER_CLASS = "app.security.SecurityManager"
    # The domain, like Django's INSTALLED_APPS: the engine (app/) imports nothing of it
    # by statement. create_app imports these modules by name, in this order, before the
    # security manager is made; importing them declares the entities and registers what
    # the engine needs: the place tree (app.scope.register_places), the user model
    # (app.security.register_user_model), the menu categories (app.menu.register_category),
    # the role table (app.policy.register_roles), command-line commands
    # (app.cli.register_command) and the demo's accounts (app.passwords.register_demo_accounts).
    # A module that defines register(appbuilder) is called once per app after the generated
    # views, to add its own. With an empty list the engine serves alone: no place scoping,
    # FAB's user model, no roles to sync, and FAB's home page instead of FAB_INDEX_VIEW.
    DOMAIN = ["models", "views", "seed"]
    FAB_INDEX_VIEW = "views.reporting.home.HomeView"
    FAB_BASE_TEMPLATE = "base_layout.html"
    # Page size of lists: default and cap (pages and API alike).
    PAGE_SIZE = 20
    MAX_PAGE_SIZE = 100

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    # Sign-in lockout (等保 2.0): this many failures in a row lock the user name (or, for
    # API keys, the caller's address) for this many minutes
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 10
    # Passwords (app/passwords.py): length, how many of the four character classes, how
    # many earlier passwords may not come back, the most days one lasts (0: no limit)
    PASSWORD_MIN_LENGTH = 8
    PASSWORD_MIN_CLASSES = 3
    PASSWORD_HISTORY = 5
    PASSWORD_MAX_AGE_DAYS = 0
    # A page session ends after this many idle minutes (and PERMANENT_SESSION_LIFETIME
    # after the sign-in, whatever the activity)
    SESSION_IDLE_MINUTES = 30
    # Calls without signing in (public pages, rating links, Open311), per address; the
    # counts are shared through Redis when REDIS_URL is set (app/ratelimit.py)
    RATE_LIMIT_ENABLED = True
    PUBLIC_RATE_LIMIT = "120/minute"
    PUBLIC_POST_RATE_LIMIT = "20/minute"
    RATE_LIMIT_PREFIX = "hongse-rl"  # the keys' prefix in Redis
    # The demo's documented accounts keep their published password (make run sets it;
    # never in production)
    DEMO_MODE = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(hours=1)

    # Where uploaded files go (imports, attachments); the largest upload accepted
    UPLOAD_FOLDER = os.path.join(INSTANCE_DIR, "uploads")
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Imports run in a background thread (False: in the request, for tests); the most rows
    # one file may carry (larger files are split by the user)
    IMPORT_IN_BACKGROUND = True
    IMPORT_MAX_ROWS = 20000
    # A running import's progress file (JOBS_FOLDER, readable by every worker) is rewritten
    # every IMPORT_HEARTBEAT_SECONDS; one silent for IMPORT_STALE_SECONDS died with its
    # process and is shown as failed
    JOBS_FOLDER = os.path.join(INSTANCE_DIR, "jobs")
    IMPORT_HEARTBEAT_SECONDS = 2.0
    IMPORT_STALE_SECONDS = 6.0
    # The TrueType font of the dashboard's PDF brief (empty: the Noto Sans SC that
    # `make venv` puts in app/static/vendor/fonts/)
    BRIEF_FONT = ""
    # Behind a reverse proxy: how many proxies to trust for the client address (logged
    # with every reveal of sensitive data). 0: the address the app sees.
    TRUSTED_PROXIES = 0
    # Logs (app/logs.py): "json" writes one JSON object per line with the request id,
    # "text" plain lines; empty: json when APP_ENV is production, else Flask's default.
    # ACCESS_LOG: one line per request from the app (empty: on in production).
    LOG_FORMAT = ""
    LOG_LEVEL = "INFO"
    ACCESS_LOG = ""

    # 三单 service loop
    # Demand numbers: PREFIX-YEAR-000123
    DEMAND_NUMBER_PREFIX = "WH"
    # An order taken but not started within this many hours goes back to the pool
    DEMAND_START_HOURS = 24
    # A demand waiting longer than this for dispatch is overdue
    DEMAND_DISPATCH_HOURS = 24
    # How long a rating link sent to the requester stays valid
    RATING_LINK_DAYS = 7
    # Channels of notices; an SMS or WeChat class with the same send() can be added
    NOTIFIERS = ["models.service.notices.InAppNotifier"]
    # Open311 GeoReport v2: the jurisdiction this server answers for
    OPEN311_JURISDICTION = "wenhualu.xiaogan"

    # Volunteers: adults from this age; children from the second join the 小小志愿者 only,
    # with a guardian and the guardian's recorded consent
    VOLUNTEER_MIN_AGE = 18
    VOLUNTEER_CHILD_MIN_AGE = 6
    # Volunteer numbers given at approval when none was entered: PREFIX-000123
    VOLUNTEER_NUMBER_PREFIX = "ZY"


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    DEMO_MODE = True  # the tests sign in with the demo's accounts
    RATE_LIMIT_ENABLED = False  # the tests call the public pages often; test_ratelimit turns it on
    SQLITE_READ_THEN_WRITE = "raise"  # a request path that reads then writes without begin_writing() fails
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}


_ALIASES = {"SQLALCHEMY_DATABASE_URI": ("DATABASE_URL",)}


def _parse(raw: str, current):
    if isinstance(current, str) or current is None:
        return raw
    if isinstance(current, timedelta):
        return timedelta(seconds=float(raw))
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def from_environment(config: type | dict, environ=None) -> dict:
    """The settings of ``config`` with every one overridden from the environment."""
    environ = os.environ if environ is None else environ
    if isinstance(config, dict):
        values = dict(config)
    else:
        values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    for key in list(values) + ["SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "REDIS_URL"]:
        for name in (key, *_ALIASES.get(key, ())):
            if name in environ:
                values[key] = _parse(environ[name], values.get(key))
    url = values.get("SQLALCHEMY_DATABASE_URI", "")
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy needs psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    values["SQLALCHEMY_DATABASE_URI"] = url
    return values
