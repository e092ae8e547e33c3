"""Data scope: which rows a user may see, by their place in street → community → grid.

A user has a scope node (street, community or grid; the columns ``scope_street_id``,
``scope_community_id``, ``scope_grid_id`` are kept consistent upwards) and a scope
kind. An entity declares where it sits with :class:`app.declare.Scope`.

:func:`criterion` is the one rule. Everything that reads rows for a user — lists,
show/edit/delete, the REST API, relation pickers, exports and charts — goes through
it, via :class:`ScopeFilter` (FAB base filter) or :func:`apply`.

The place tree and the accounts are the domain's: it registers the tree's three levels
with :func:`register_places` (models/kernel/places.py) and its user model, whose accounts
carry a scope node, with :func:`register_user_model` (models/kernel/users.py), at
start-up. Until a tree is registered there is no place scoping: :func:`criterion` limits
nothing, and a user has no scope node to choose; without a user model the security
manager keeps FAB's ``User`` (an app started with an empty ``DOMAIN``).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, or_, select

from app.extensions import db

ALL, COMMUNITY, GRID, SELF = "all", "community", "grid", "self"

#: scope kinds, in the order of the user form
KINDS = {
    ALL: _l("All (under the scope node)"),
    COMMUNITY: _l("Own community and below"),
    GRID: _l("Own grid"),
    SELF: _l("Only own records"),
}


class PlaceTree(NamedTuple):
    """The three mapped classes of the place tree, top to bottom. Each has ``id``,
    ``name`` and ``code``; a community names its street in ``street_id``, a grid its
    community in the relationship ``community``. A user's scope node is one of them."""

    street: type
    community: type
    grid: type


_places: PlaceTree | None = None


def register_places(street: type, community: type, grid: type) -> PlaceTree:
    """Register the domain's place tree (street → community → grid) for data scope."""
    global _places
    _places = PlaceTree(street, community, grid)
    return _places


def places() -> PlaceTree | None:
    """The registered place tree, or None (no place scoping)."""
    return _places


_user_model: type | None = None


def register_user_model(model: type) -> None:
    """Register the domain's user model: a mapped subclass of FAB's ``User`` (table
    ab_user) with the scope columns (``scope_kind``, ``scope_street_id``…). Security
    managers made afterwards use it (app.security)."""
    global _user_model
    _user_model = model


def user_model() -> type | None:
    """The registered user model, or None (FAB's ``User``)."""
    return _user_model


def node_key(node) -> str:
    """A scope node as the user form's picker names it: ``community:3``."""
    return f"{type(node).__name__.lower()}:{node.id}"


def node_label(node) -> str:
    """A scope node as a person reads it (a grid with its community)."""
    if node is None:
        return ""
    tree = places()
    if tree is not None and isinstance(node, tree.grid):
        return f"{node.community}/{node}"
    return str(node)


def load_node(key: str):
    """The scope node named by :func:`node_key`, or None."""
    tree = places()
    if tree is None:
        return None
    kinds = {cls.__name__.lower(): cls for cls in tree}
    try:
        kind, pk = key.split(":", 1)
        return db.session.get(kinds[kind], int(pk))
    except (KeyError, ValueError):
        return None


def scope_problem(kind: str, node):
    """Why the scope ``kind`` does not fit ``node``, or None."""
    tree = places()
    if kind not in KINDS:
        return _l("Choose a scope kind.")
    if tree is None:
        return None
    if kind == GRID and not isinstance(node, tree.grid):
        return _l("The scope 'own grid' needs a grid as scope node.")
    if kind in (COMMUNITY, SELF) and not isinstance(node, (tree.community, tree.grid)):
        return _l("This scope kind needs a community or a grid as scope node.")
    return None


_acting: ContextVar = ContextVar("acting_user", default=None)


@contextmanager
def acting_as(user):
    """Work done outside a request on behalf of ``user`` (a background import, the CLI
    with --user) is scoped, checked and recorded as that user's."""
    token = _acting.set(user)
    try:
        yield user
    finally:
        _acting.reset(token)


class _System:
    """The office itself acting (a resident's rating link, the timed sweep): not scoped,
    recorded with no user, like the command line."""

    id = None
    username = None


SYSTEM = _System()


@contextmanager
def as_system():
    """Work done by the office itself inside a web request (no signed-in user, or on no
    one user's behalf): unscoped, as the command line is."""
    token = _acting.set(SYSTEM)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_user():
    """The user on whose behalf this runs: :func:`acting_as`, else the signed-in user of
    this request (session or JWT), else None.

    None means "no user": the CLI, the seed and migrations, which are not scoped.
    An anonymous web request gets :data:`NOBODY`, who sees nothing scoped.
    """
    if _acting.get() is not None:
        return None if _acting.get() is SYSTEM else _acting.get()
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    try:
        from flask_jwt_extended import current_user as jwt_user

        if jwt_user is not None and getattr(jwt_user, "is_authenticated", False):
            return jwt_user
    except Exception:
        pass
    return NOBODY


class _Nobody:
    id = None
    scope_kind = SELF
    scope_street_id = scope_community_id = scope_grid_id = None
    is_authenticated = False


NOBODY = _Nobody()


def spec_of(model):
    """The entity's declared Scope (``Admin.scope``, or ``__scope__`` for tables that
    are not registry entities, such as user accounts)."""
    admin = getattr(model, "Admin", None)
    return getattr(admin, "scope", None) or getattr(model, "__scope__", None)


def criterion(model, user):
    """The SQL condition limiting ``model`` to what ``user`` may see.

    Returns None when nothing is limited (an unscoped entity, no user, a user whose
    kind is 全部 without a node, or no place tree registered), or ``false()`` when the
    user may see nothing.
    """
    spec = spec_of(model)
    tree = places()
    if spec is None or user is None or tree is None:
        return None
    Community = tree.community

    def col(name):
        attr = getattr(spec, name)
        return getattr(model, attr) if attr else None

    kind = getattr(user, "scope_kind", None) or SELF
    street_id = getattr(user, "scope_street_id", None)
    community_id = getattr(user, "scope_community_id", None)
    grid_id = getattr(user, "scope_grid_id", None)

    if kind == ALL:
        if community_id is not None:  # node is a community or a grid: all of that community
            kind = COMMUNITY
        elif street_id is None:
            return None
        elif col("street") is not None:
            return col("street") == street_id
        elif col("community") is not None:
            return col("community").in_(select(Community.id).where(Community.street_id == street_id))
        return None

    if community_id is None:
        return false()
    if col("community") is not None:
        crit = col("community") == community_id
    elif col("street") is not None:
        crit = col("street") == street_id
    else:
        return false()
    if kind == GRID:
        if grid_id is None:
            return false()
        if col("grid") is not None:
            grid_col = col("grid")
            # The grid's own rows, and rows of the community that belong to no grid;
            # a node table (grid itself: grid="id") never has a NULL id.
            crit = and_(crit, or_(grid_col == grid_id, grid_col.is_(None))) \
                if spec.grid != "id" else and_(crit, grid_col == grid_id)
    elif kind == SELF:
        if spec.mine is not None:
            crit = and_(crit, spec.mine(user))
        elif col("owner") is not None:
            crit = and_(crit, col("owner") == user.id)
        elif spec.personal:
            return false()
    return crit


def apply(query_or_select, model, user=None):
    """``query_or_select`` limited to the rows the (acting) user may see."""
    user = acting_user() if user is None else user
    crit = criterion(model, user)
    if crit is None:
        return query_or_select
    if hasattr(query_or_select, "filter"):
        return query_or_select.filter(crit)
    return query_or_select.where(crit)


def visible(obj, user=None) -> bool:
    """Whether one persisted row is within the (acting) user's scope (one query)."""
    model = type(obj)
    user = acting_user() if user is None else user
    crit = criterion(model, user)
    if crit is None:
        return True
    pk = model.__mapper__.primary_key[0]
    value = getattr(obj, pk.key)
    if value is None:
        return True  # a new row: judged by its own parents, not by itself
    return db.session.execute(select(pk).where(pk == value, crit)).first() is not None


class ScopeFilter(BaseFilter):
    """FAB base filter applying :func:`criterion`; the registry adds it to every
    scoped view and API, so lists, show, edit, delete and API get/put/delete all
    answer 404 for a row outside the user's scope."""

    name = "scope"
    arg_name = "scope"

    def apply(self, query, value):
        return apply(query, self.model)
