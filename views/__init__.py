"""Views the registry cannot generate: dashboards, workflow actions, public pages,
and custom subclasses of generated views (registered with ``registry.override``)."""
from views import home, organisations  # noqa: F401
