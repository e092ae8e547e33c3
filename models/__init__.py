"""The domain's tables and rules, one package per bounded context (docs/architecture.md).

Importing this package declares every entity, in dependency order: the kernel (places,
organisations, 字典 types, users), people, the 三单 service loop, volunteers, co-building, and
reporting (which reads them all and is read by none).

The domain's menu categories are registered here, in menu order (app.menu), before the
engine's own ("system", "audit").
"""
from flask_babel import lazy_gettext as _l

from app import menu as _menu
from models import kernel, people, service, volunteers, cobuilding, reporting  # noqa: F401

for _key, _label, _icon in (
        ("places", _l("Places"), "fa-map-marker"),
        ("orgs", _l("Organisations"), "fa-sitemap"),
        ("people", _l("People"), "fa-users"),
        ("care", _l("Care"), "fa-heart"),
        ("service", _l("Services"), "fa-handshake-o"),
        ("volunteers", _l("Volunteers and points"), "fa-heart-o"),
        ("honours", _l("Stars and bulletins"), "fa-star"),
        ("cobuilding", _l("Co-building"), "fa-handshake-o")):
    _menu.register_category(_key, _label, _icon)
