"""Menu categories of generated views: key → (lazy label, icon). Order is menu order.

The engine has two categories of its own, "system" (字典) and "audit" (the logs), which
always come last. The domain adds its categories at start-up, in menu order, with
:func:`register_category` (models/__init__.py); an entity names its category in
``Admin.menu``.
"""
from flask_babel import lazy_gettext as _l

#: the engine's own categories, after every category of the domain
_ENGINE = {
    "system": (_l("System"), "fa-cogs"),
    "audit": (_l("Audit"), "fa-history"),
}

#: every category in menu order (the domain's, then the engine's); read it, never write it
CATEGORIES: dict = dict(_ENGINE)


def register_category(key: str, label, icon: str) -> None:
    """Add the menu category ``key`` (a lazy label, a Font Awesome icon) after the
    categories registered before it and before the engine's own. Registering a key again
    changes its label and icon, not its place."""
    if key in CATEGORIES:
        CATEGORIES[key] = (label, icon)
        return
    ordered = [(k, v) for k, v in CATEGORIES.items() if k not in _ENGINE] + [(key, (label, icon))]
    CATEGORIES.clear()
    CATEGORIES.update(ordered)
    CATEGORIES.update(_ENGINE)
