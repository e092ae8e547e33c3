"""The declaration vocabulary of the low-code core.

A model declares each column's label once, in its ``info``::

    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))

and an inner ``Admin`` class (a subclass of :class:`Admin`) that says how the entity
is administered. :mod:`app.registry` turns both into views, an API, a menu entry,
permissions and scope filters. Labels are lazy English msgids: the zh catalog in
``translations/`` gives what users read.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


def field(label, description=None, *, dict_type: str | None = None, choices=None,
          **extra: Any) -> dict:
    """The ``info`` of a column or relationship.

    :param label: lazy msgid shown as the field's label
    :param description: lazy msgid shown under the field in forms
    :param dict_type: the 字典 type whose enabled codes are this column's values
    :param choices: fixed values of a column that admins do not edit: a dict
        {code: lazy label}, or a callable returning one
    """
    info = {"label": label}
    if description is not None:
        info["description"] = description
    if dict_type is not None:
        info["dict_type"] = dict_type
    if choices is not None:
        info["choices"] = choices
    info.update(extra)
    return info


@dataclass(frozen=True)
class Scope:
    """Where an entity sits in the street → community → grid tree.

    Each value is the name of a column of the entity (``"community_id"``, or ``"id"``
    for the node tables themselves). For users whose scope kind is 仅本人, an entity is
    narrowed by ``mine(user)`` when it declares it, else by ``owner`` (the column holding
    the creating user's id); a ``personal`` entity with neither shows such users nothing,
    other entities (places, organisations) show them their community.
    """

    street: str | None = None
    community: str | None = None
    grid: str | None = None
    owner: str | None = None
    #: personal data: a 仅本人 user sees only the rows ``mine`` (or ``owner``) gives, or none
    personal: bool = False
    #: ``mine(user)`` → the SQL condition of the rows that are a 仅本人 user's own
    #: (e.g. the residents of the care groups a volunteer belongs to)
    mine: object = None


_declaration_order = itertools.count()


class Admin:
    """Defaults of an entity's admin declaration. Models subclass it as ``Admin``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._seq = next(_declaration_order)  # menu order follows declaration order

    #: lazy msgids: one item ("Compound") and the menu/list name ("Compounds")
    label: Any = None
    label_plural: Any = None
    #: menu category key (see app.menu.CATEGORIES); None: no menu entry
    menu: str | None = None
    icon: str = "fa-table"
    #: column lists; None derives them from the model
    list_columns: list[str] | None = None
    search_columns: list[str] | None = None
    show_columns: list[str] | None = None
    form_columns: list[str] | None = None
    #: relations that computed list/show columns read (e.g. ["members"] for a head's
    #: name): loaded with the rows, so a page's statements do not grow with its rows
    loads: list[str] = []
    #: text columns the list's quick search box looks in; None: the text columns
    #: among search_columns
    quick_search: list[str] | None = None
    #: default order: (column, "asc" | "desc")
    order: tuple[str, str] | None = None
    scope: Scope | None = None
    #: named workflow actions: {"export": _l("Export")} → permission can_export
    actions: dict = {}
    #: one-to-many relations shown as lists on the show page
    related: list[str] = []
    #: declared charts (:class:`app.charts.Chart`): a chart page and a JSON endpoint each
    charts: list = []
    #: columns always computed from a parent: {"community": "compound.community"}; a list
    #: of paths takes the first parent that is given ({"grid": ["household.grid", "compound.grid"]})
    derive: dict = {}
    #: columns taken from a parent only when left empty, in order:
    #: [("grid", "compound.grid"), ("community", "grid.community"), ...]
    fill: list[tuple[str, str]] = []
    #: labels of dotted list columns that should not just take the leaf's label
    labels: dict[str, Any] = {}
    #: whether a REST API is generated
    api: bool = True
    #: the REST resource name; default: the table name
    resource_name: str | None = None
    #: read-only entities (written by the system, e.g. the audit log): no write permission
    readonly: bool = False
    #: False withdraws a declared entity from registration
    registered: bool = True
    #: rows that are never deleted, by any path (page, API, CLI, import): ``kept(row)`` is
    #: true for a row that moved points, stock or money (an exchange, a fund's entry);
    #: :func:`app.domain.delete` refuses it with ``kept_message`` and list pages offer no
    #: delete link for it. Corrections are new rows (a reversal, an adjustment).
    kept: Any = None
    kept_message: Any = None

    @classmethod
    def title(cls, model=None):
        """The entity's label (lazy; never tested for truth, which would translate it)."""
        return cls.label if cls.label is not None else (model.__name__ if model else "")

    @classmethod
    def plural(cls, model=None):
        return cls.label_plural if cls.label_plural is not None else cls.title(model)


EXPORT = {"export": _l("Export")}
IMPORT = {"import": _l("Import")}


def choices_of(info: dict) -> dict:
    found = info.get("choices")
    return found() if callable(found) else (found or {})
