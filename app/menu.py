"""Menu categories of generated views: key → (lazy label, icon). Order is menu order."""
from flask_babel import lazy_gettext as _l

CATEGORIES = {
    "places": (_l("Places"), "fa-map-marker"),
    "orgs": (_l("Organisations"), "fa-sitemap"),
    "people": (_l("People"), "fa-users"),
    "care": (_l("Care"), "fa-heart"),
    "service": (_l("Services"), "fa-handshake-o"),
    "volunteers": (_l("Volunteers and points"), "fa-heart-o"),
    "honours": (_l("Stars and bulletins"), "fa-star"),
    "cobuilding": (_l("Co-building"), "fa-handshake-o"),
    "system": (_l("System"), "fa-cogs"),
}
CATEGORIES["audit"] = (_l("Audit"), "fa-history")
