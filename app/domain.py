"""Saving and deleting entities: the one path every writer takes.

HTML forms, the REST API, the CLI, importers and the seed all call :func:`save` and
:func:`delete`. They check, in order: derived columns, required values, lengths,
字典 codes, the scope of chosen parents (out-of-scope parent), the model's own
``validate`` rules and unique constraints, then write in one transaction. Rich-text
columns are sanitized first (:mod:`app.richtext`), whoever writes them. Problems
come back as :class:`ValidationFailed`, a dict of field → translated messages, and
nothing is written.
"""
from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, inspect as sa_inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.attributes import get_history

from app import richtext, scope
from app.extensions import db

NON_FIELD = "_"
log = logging.getLogger(__name__)

# Rows written in chunks (save_many): a parent flushed with the first chunk still lists
# children of later chunks, which SQLAlchemy mentions; they are written with their chunk.
warnings.filterwarnings("ignore", message=r".*not in session, add operation along.*")
#: the value of a foreign key whose parent is set but not written yet
PENDING = object()


class DomainError(Exception):
    """A rule refused an operation. ``message`` is a lazy msgid (translated on use)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def errors(self) -> dict[str, list[str]]:
        return {self.field or NON_FIELD: [str(self.message)]}


class Conflict(DomainError):
    """Someone else changed the row first (two steps of a workflow raced from one
    snapshot): nothing was written; the page says so, the API answers 409."""


class ValidationFailed(DomainError):
    """Several field-level problems: ``{field: [message, ...]}``."""

    def __init__(self, errors: dict[str, list]):
        self._errors = errors
        first = next(iter(errors.values()))[0] if errors else ""
        super().__init__(first, next(iter(errors), None))

    def errors(self) -> dict[str, list[str]]:
        return {k: [str(m) for m in v] for k, v in self._errors.items()}


class Check:
    """Collects the problems of one item; models report with ``check.error``."""

    def __init__(self, item, session):
        self.item = item
        self.session = session
        self.problems: dict[str, list] = {}
        #: the fields taken from a parent (``derive``) rather than chosen
        self.derived: set[str] = set()

    def error(self, field: str | None, message) -> None:
        self.problems.setdefault(field or NON_FIELD, []).append(message)

    def has(self, field: str) -> bool:
        return field in self.problems


# ----------------------------------------------------------------------------- helpers

def admin_of(model):
    return getattr(model, "Admin", None)


def label_of(model, name: str) -> str:
    """The translated label of a column or relationship of ``model``."""
    mapper = sa_inspect(model)
    prop = mapper.attrs.get(name)
    info = getattr(prop, "info", None) or {}
    if not info and prop is not None and hasattr(prop, "columns"):
        info = prop.columns[0].info
    label = info.get("label")
    return str(label) if label is not None else name


@functools.lru_cache(maxsize=None)
def relation_for_column(model, column_key: str) -> str | None:
    """The many-to-one relationship that owns the foreign-key column ``column_key``
    (mappings are fixed once configured: cached)."""
    for rel in sa_inspect(model).relationships:
        if rel.direction.name == "MANYTOONE" and any(c.key == column_key for c in rel.local_columns):
            return rel.key
    return None


def field_for_column(model, column_key: str) -> str:
    return relation_for_column(model, column_key) or column_key


def column_value(item, column) -> Any:
    """The value a column will hold, also for a foreign key whose parent is set but
    not flushed yet (``item.community = c`` before ``community_id`` is known)."""
    model = type(item)
    rel_name = relation_for_column(model, column.key)
    if rel_name is not None:
        parent = getattr(item, rel_name)
        if parent is not None:
            rel = sa_inspect(model).relationships[rel_name]
            for local, remote in rel.local_remote_pairs:
                if local.key == column.key:
                    value = getattr(parent, remote.key)
                    return PENDING if value is None else value
        history = get_history(item, rel_name)
        if history.has_changes():
            return None
    return getattr(item, column.key, None)


def _resolve(item, path: str):
    value = item
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _is_new(item) -> bool:
    state = sa_inspect(item)
    return state.transient or state.pending


def changed(item, name: str) -> bool:
    """Whether ``item``'s attribute ``name`` is being written: a new row, or a stored row
    whose value (column or relation) differs from the one loaded."""
    return _is_new(item) or get_history(item, name).has_changes()


def require_visible(item, user) -> None:
    """Raise DomainError unless ``user`` (None: the system) may see ``item`` — the guard of
    a domain step on a record the user names (the same answer as a row out of scope)."""
    if user is not None and not scope.visible(item, user):
        raise DomainError(_l("The page or record does not exist, or it is outside your data scope."))


# ----------------------------------------------------------------------------- checks

def _given(item, name: str) -> bool:
    """Whether the writer set ``name`` (a new row's value, or a change of a stored row's)."""
    if getattr(item, name, None) is None:
        return False
    return _is_new(item) or bool(get_history(item, name).added)


def _derive(item, check: Check | None = None) -> None:
    """``derive``: always taken from the parent; ``fill``: taken only when empty.

    With ``check`` (the first pass), a value the writer gave that the parent overrides is
    refused, naming the field: a write must not answer "saved" and keep another value
    (``PUT /api/v1/person/1 {"compound": 2}`` for a resident whose household is elsewhere).
    ``check.derived`` records what was taken from a parent (checked for scope through it)."""
    admin = admin_of(type(item))
    for name, paths in (getattr(admin, "derive", None) or {}).items():
        for path in [paths] if isinstance(paths, str) else paths:  # the first parent given wins
            parent = path.split(".")[0]
            if getattr(item, parent) is not None:
                value = _resolve(item, path)
                if check is not None:
                    given = getattr(item, name)
                    if _given(item, name) and given is not value and given != value:
                        check.error(name, _l(
                            "%(field)s is taken from the %(parent)s (%(value)s); it cannot be set on its own. "
                            "Change the %(parent)s instead.", field=label_of(type(item), name),
                            parent=label_of(type(item), parent), value=str(value) if value is not None else "-"))
                    check.derived.add(name)
                setattr(item, name, value)
                break
    for name, path in getattr(admin, "fill", None) or []:
        if getattr(item, name) is None and _resolve(item, path) is not None:
            setattr(item, name, _resolve(item, path))


def _numeric(column) -> bool:
    try:
        return column.type.python_type in (int, float)
    except NotImplementedError:
        return False


_INT_LIMITS = {"SmallInteger": 2**15 - 1, "Integer": 2**31 - 1, "BigInteger": 2**63 - 1}


def _ranges(item, check: Check) -> None:
    """Numbers the database can hold (a number too large answered 500 before)."""
    import math

    for column in sa_inspect(type(item)).columns:
        value = getattr(item, column.key, None)
        if value is None or isinstance(value, bool) or not _numeric(column):
            continue
        limit = next((v for k, v in _INT_LIMITS.items() if type(column.type).__name__ == k), None)
        if limit is not None and isinstance(value, int) and not -limit <= value <= limit:
            check.error(column.key, _l("The number is out of range."))
        elif isinstance(value, float) and (math.isnan(value) or math.isinf(value) or abs(value) > 1e15):
            check.error(column.key, _l("The number is out of range."))


def _required(item, check: Check) -> None:
    model = type(item)
    mapper = sa_inspect(model)
    admin = admin_of(model)
    derive = getattr(admin, "derive", None) or {}
    fill = getattr(admin, "fill", None) or []
    for column in mapper.columns:
        name = field_for_column(model, column.key)
        if name in derive:
            if not column.nullable and column_value(item, column) is None:
                # nothing to take it from: ask for the parents it could come from
                paths = [derive[name]] if isinstance(derive[name], str) else list(derive[name])
                sources = [p.split(".")[0] for p in paths] + [p.split(".")[0] for n, p in fill if n == name]
                if not any(check.has(s) for s in sources):
                    check.error(sources[0], _l("Give the %(fields)s.", fields=gettext("%(a)s or %(b)s", a=label_of(
                        model, sources[0]), b=label_of(model, sources[-1])) if len(sources) > 1
                        else label_of(model, sources[0])))
            continue
        if column.primary_key or column.nullable or column.default is not None \
                or column.server_default is not None:
            continue
        value = column_value(item, column)
        if value is None or (isinstance(value, str) and not value.strip()):
            check.error(field_for_column(model, column.key), _l("This field is required."))


def _kinds(item, check: Check) -> None:
    """Columns of a standard kind (``field(kind="phone")``) are checked and normalised
    by app.standards, wherever they are."""
    from app import standards

    functions = {"phone": standards.normalize_phone, "id_number": standards.normalize_id_number}
    for column in sa_inspect(type(item)).columns:
        function = functions.get(column.info.get("kind"))
        value = getattr(item, column.key, None)
        if function is None or value in (None, "") or not changed(item, column.key):
            if value == "":
                setattr(item, column.key, None)
            continue
        try:
            setattr(item, column.key, function(value))
        except standards.StandardError as error:
            check.error(column.key, error.message)


def _lengths(item, check: Check) -> None:
    for column in sa_inspect(type(item)).columns:
        length = getattr(column.type, "length", None)
        value = getattr(item, column.key, None)
        if length and isinstance(value, str) and len(value) > length:
            check.error(column.key, _l("At most %(n)d characters.", n=length))


def _dict_codes(item, check: Check) -> None:
    from app.declare import choices_of
    from app.dictionary import choices

    for column in sa_inspect(type(item)).columns:
        dict_type, fixed = column.info.get("dict_type"), column.info.get("choices")
        value = getattr(item, column.key, None)
        if not (dict_type or fixed) or value in (None, "") or not changed(item, column.key):
            continue
        if dict_type:
            codes = {code for code, _label in choices(dict_type)}
        else:  # fixed values ({code: label}, or a callable giving them)
            codes = set(choices_of(column.info))
        if value not in codes:
            check.error(column.key, _l("Choose one of the listed values."))


def _parents_in_scope(item, check: Check, seen: dict | None = None) -> None:
    user = scope.acting_user()
    if user is None:
        return
    seen = {} if seen is None else seen
    derived = check.derived  # (a derived field given with no parent to take it from is a choice: checked)
    for rel in sa_inspect(type(item)).relationships:
        if rel.direction.name == "ONETOMANY" or rel.key in derived:
            continue
        if scope.spec_of(rel.mapper.class_) is None or not changed(item, rel.key):
            continue
        values = getattr(item, rel.key)
        for value in (values if rel.uselist else [values]):
            if value is None:
                continue
            key = (type(value), getattr(value, "id", None) or id(value))
            if key not in seen:
                seen[key] = scope.visible(value, user)
            if not seen[key]:
                check.error(rel.key, _l("The chosen %(label)s is outside your scope.",
                                        label=label_of(type(item), rel.key)))
                break


def _unique_groups(model) -> list[list]:
    table = model.__table__
    groups = [list(c.columns) for c in table.constraints
              if c.__class__.__name__ == "UniqueConstraint"]
    return groups + [[c] for c in table.columns if c.unique]


def _report_clash(item, check: Check, columns, values, hidden: bool = False) -> None:
    """Report a unique clash on the most telling field; a clash with a row outside the
    user's scope says no more than that the value is taken."""
    model = type(item)
    data_cols = [c for c in columns if not c.foreign_keys]
    if hidden:
        target = field_for_column(model, (data_cols or columns)[-1].key)
        check.error(target, _l("This %(label)s is already registered elsewhere; ask the community office.",
                               label=label_of(model, target)))
        return
    if not data_cols:  # e.g. one red station per compound
        parent = field_for_column(model, columns[-1].key)
        check.error(parent, _l("This %(parent)s already has a %(label)s.",
                               parent=label_of(model, parent), label=admin_of(model).title(model)))
        return
    target = data_cols[-1]
    value = getattr(item, target.key)
    parents = [c for c in columns if c.foreign_keys]
    if parents:
        check.error(target.key, _l("%(parent)s already has a %(label)s “%(value)s”.",
                                   parent=label_of(model, field_for_column(model, parents[0].key)),
                                   label=label_of(model, target.key), value=value))
    else:
        check.error(target.key, _l("%(label)s “%(value)s” already exists.",
                                   label=label_of(model, target.key), value=value))


def _unique(items: list, checks: list[Check], session) -> None:
    """Unique constraints, for a whole batch at once: a clash with the database (one
    query per constraint and 500 rows) or with an earlier row of the batch."""
    from sqlalchemy import tuple_

    model = type(items[0])
    pk = sa_inspect(model).primary_key[0]
    for columns in _unique_groups(model):
        wanted: dict[tuple, list[int]] = {}
        for index, (item, check) in enumerate(zip(items, checks)):
            if any(check.has(field_for_column(model, c.key)) for c in columns):
                continue  # that field has its own problem already
            values = tuple(column_value(item, c) for c in columns)
            if any(v is PENDING or v is None for v in values):
                continue  # NULL never equals anything; a parent new in this transaction neither
            wanted.setdefault(values, []).append(index)
        for values, indexes in wanted.items():
            for later in indexes[1:]:  # the same values twice in the batch
                _report_clash(items[later], checks[later], columns, values)
        keys = list(wanted)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            target = columns[0] if len(columns) == 1 else tuple_(*columns)
            condition = target.in_([k[0] for k in chunk] if len(columns) == 1 else chunk)
            with session.no_autoflush:
                rows = session.execute(select(pk, *columns).where(condition)).all()
            hidden = _outside_scope(model, pk, [row[0] for row in rows])
            for row in rows:
                for index in wanted.get(tuple(row[1:]), []):
                    item = items[index]
                    if getattr(item, pk.key, None) != row[0]:
                        _report_clash(item, checks[index], columns, tuple(row[1:]), hidden=row[0] in hidden)


def _outside_scope(model, pk, ids) -> set:
    """Which of ``ids`` the acting user may not see."""
    user = scope.acting_user()
    crit = scope.criterion(model, user) if user is not None and ids else None
    if crit is None:
        return set()
    with db.session.no_autoflush:
        visible = set(db.session.scalars(select(pk).where(pk.in_(ids), crit)))
    return set(ids) - visible


def validate_many(items: list, session=None) -> dict[int, dict]:
    """Every check on every item: {index: {field: [messages]}} of the items that fail."""
    session = session or db.session
    checks = [Check(item, session) for item in items]
    seen: dict = {}
    with session.no_autoflush:
        for item, check in zip(items, checks):
            richtext.sanitize_rich_columns(item)  # before the checks: they see what is stored
            _derive(item, check)
            if hasattr(item, "complete"):
                item.complete(check)  # what the entity infers beyond its parents
            _required(item, check)
            _kinds(item, check)
            _lengths(item, check)
            _ranges(item, check)
            _dict_codes(item, check)
            _parents_in_scope(item, check, seen)
            if hasattr(item, "validate"):
                item.validate(check)
            _derive(item)  # validate() may have completed parents
        by_model: dict = {}
        for index, item in enumerate(items):
            by_model.setdefault(type(item), []).append(index)
        for indexes in by_model.values():
            _unique([items[i] for i in indexes], [checks[i] for i in indexes], session)
    return {i: c.problems for i, c in enumerate(checks) if c.problems}


def validate(item, session=None) -> None:
    """Run every check on ``item``; raise :class:`ValidationFailed` on any problem."""
    problems = validate_many([item], session)
    if problems:
        raise ValidationFailed(problems[0])


# ----------------------------------------------------------------------------- writes

class BatchFailed(DomainError):
    """Some items of a batch failed: ``problems`` is {index: {field: [messages]}}."""

    def __init__(self, problems: dict[int, dict]):
        self.problems = problems
        index = min(problems)
        first = ValidationFailed(problems[index])
        super().__init__(first.message, first.field)

    def errors(self) -> dict[str, list[str]]:
        return ValidationFailed(self.problems[min(self.problems)]).errors()


def _only_these(items: list, session) -> None:
    """A save writes the given rows only: a related object given in a request is chosen,
    never created (a nested object in an API body must not make a new 社区 or account)."""
    from app.records import AuditLog

    ours = {id(item) for item in items}
    if any(id(o) not in ours and not isinstance(o, AuditLog) for o in session.new):
        raise ValidationFailed({NON_FIELD: [_l("Related records are chosen by id; they cannot be created here.")]})


def _still_visible(items: list) -> dict[int, dict]:
    """The rows a user writes must stay within the user's own scope (one query a model)."""
    user = scope.acting_user()
    if user is None:
        return {}
    problems = {}
    by_model: dict = {}
    for index, item in enumerate(items):
        by_model.setdefault(type(item), []).append(index)
    for model, indexes in by_model.items():
        crit = scope.criterion(model, user)
        if crit is None:
            continue
        pk = sa_inspect(model).primary_key[0]
        ids = [getattr(items[i], pk.key) for i in indexes]
        visible = set(db.session.scalars(select(pk).where(pk.in_(ids), crit)))
        spec = scope.spec_of(model)
        field = next((field_for_column(model, getattr(spec, level)) for level in ("grid", "community", "street")
                      if getattr(spec, level) and getattr(spec, level) != "id"), NON_FIELD)
        for i in indexes:
            if getattr(items[i], pk.key) not in visible:
                problems[i] = {field: [_l("After saving, this record would be outside your data scope. "
                                          "Choose a place within your scope.")]}
    return problems


# ----------------------------------------------------------------------------- derived places

@functools.lru_cache(maxsize=None)
def _dependents(model) -> list[tuple]:
    """(child model, child's FK to ``model``, [(child column, ``model``'s column)], [child
    FKs that must be NULL]) of every ``derive`` that copies a place from a ``model`` parent
    (Household → Person). A path listed after others applies where those parents are not set."""
    from app.registry import entities

    result = []
    for child in entities():
        groups: dict = {}
        for name, paths in (getattr(admin_of(child), "derive", None) or {}).items():
            paths = [paths] if isinstance(paths, str) else list(paths)
            for position, path in enumerate(paths):
                parts = path.split(".")
                rel = sa_inspect(child).relationships.get(parts[0])
                if len(parts) != 2 or rel is None or rel.mapper.class_ is not model:
                    continue
                source = sa_inspect(model).relationships.get(parts[1])
                target = sa_inspect(child).relationships.get(name)
                if source is None or target is None:
                    continue
                before = tuple(list(sa_inspect(child).relationships[p.split(".")[0]].local_columns)[0]
                               for p in paths[:position])
                key = (list(rel.local_columns)[0], before)
                groups.setdefault(key, []).append((list(target.local_columns)[0], list(source.local_columns)[0]))
        for (link, before), pairs in groups.items():
            result.append((child, link, pairs, before))
    return result


def _moved(items) -> dict:
    """{model: [ids]} of saved rows whose place (a column a child derives) changes."""
    moved: dict = {}
    for item in items:
        state = sa_inspect(item)
        if state.transient or state.pending:
            continue
        for _child, _link, pairs, _before in _dependents(type(item)):
            if any(get_history(item, column.key).has_changes()
                   or get_history(item, field_for_column(type(item), column.key)).has_changes()
                   for _own, column in pairs):
                moved.setdefault(type(item), []).append(item.id)
                break
    return moved


def _cascade(model, ids, session, depth: int = 0) -> None:
    """Children take their parent's new place (and theirs, down the tree): a resident
    who moves to another grid takes his special-group tags, care group and visits along,
    so the scope of every row stays right."""
    if not ids or depth > 6:
        return
    for child, link, pairs, before in _dependents(model):
        parent = model.__table__
        changed = set()
        for own, theirs in pairs:
            value = select(parent.c[theirs.key]).where(parent.c.id == link).scalar_subquery()
            rows = session.execute(
                select(child.__table__.c.id).where(link.in_(ids), own.is_distinct_from(value),
                                                   *[fk.is_(None) for fk in before])).scalars().all()
            if rows:
                session.execute(child.__table__.update().where(child.__table__.c.id.in_(rows)).values({own: value}))
                changed.update(rows)
        _cascade(child, sorted(changed), session, depth + 1)


def discard(items) -> None:
    """Forget new items that will not be written: they leave the collections of their
    parents (a refused resident must not stay listed among its household's members)."""
    for item in items:
        state = sa_inspect(item)
        if not (state.transient or state.pending):
            continue
        for rel in state.mapper.relationships:
            if rel.direction.name == "MANYTOONE" and getattr(item, rel.key) is not None:
                setattr(item, rel.key, None)


def save_many(items, *, commit: bool = True, session=None, chunk: int = 0, progress=None) -> list:
    """Validate and write several items in one transaction: all or none.

    Raises :class:`BatchFailed` with the problems of every failing item (all items are
    checked, not just up to the first failure). With ``chunk``, rows are sent to the
    database ``chunk`` at a time (``progress(done, total)`` after each) — still in one
    transaction, so a process killed half-way leaves nothing behind."""
    session = session or db.session
    items = list(items)
    try:
        problems = validate_many(items, session)
        if problems:
            discard(items)
            raise BatchFailed(problems)
        _only_these(items, session)
        moved = _moved(items)
        size = chunk or len(items) or 1
        for start in range(0, len(items), size):
            part = items[start:start + size]
            session.add_all(part)
            for item in part:
                if hasattr(item, "before_save"):
                    item.before_save(session)
            session.flush()
            if progress is not None:
                progress(min(start + size, len(items)), len(items))
        problems = _still_visible(items)
        if problems:
            raise BatchFailed(problems)
        for model, ids in moved.items():
            _cascade(model, ids, session)
        if moved:
            session.expire_all()  # children were updated in the database
    except DomainError:
        session.rollback()
        raise
    except IntegrityError as exc:
        session.rollback()
        raise ValidationFailed({NON_FIELD: [_l(
            "The record conflicts with existing data (a duplicate or a missing link). Nothing was saved.")]}) from exc
    except DBAPIError as exc:  # e.g. a value the database cannot store
        session.rollback()
        log.warning("database refused a write: %s", exc)
        if "locked" in str(exc.orig).lower():
            raise ValidationFailed({NON_FIELD: [_l(
                "The database is busy with another change. Nothing was saved; please try again.")]}) from exc
        raise ValidationFailed({NON_FIELD: [_l("The database refused a value. Nothing was saved.")]}) from exc
    if commit:
        session.commit()
    return items


def save(item, *, commit: bool = True, session=None):
    """Validate and write ``item``; on any problem nothing is written."""
    try:
        save_many([item], commit=commit, session=session)
    except BatchFailed as failed:
        raise ValidationFailed(failed.problems[0]) from None
    return item


def blockers(item, session=None) -> list[tuple[str, int]]:
    """(label, count) of the rows that still depend on ``item`` and block its deletion:
    children by foreign key, and whatever the model itself names (``delete_blockers``)."""
    session = session or db.session
    result = list(item.delete_blockers(session)) if hasattr(item, "delete_blockers") else []
    for rel in sa_inspect(type(item)).relationships:
        if rel.direction.name != "ONETOMANY" or "delete" in rel.cascade:
            continue
        target = rel.mapper.class_
        condition = [remote == getattr(item, local.key) for local, remote in rel.local_remote_pairs]
        with session.no_autoflush:
            count = session.scalar(select(func.count()).select_from(target).where(*condition))
        if count:
            admin = admin_of(target)
            label = getattr(admin, "label", None) or target.__name__
            result.append((str(label), count))
    return result


def kept_reason(item):
    """Why ``item`` is never deleted (its model's ``Admin.kept`` holds for it), or None."""
    admin = admin_of(type(item))
    predicate = getattr(admin, "kept", None)
    if predicate is None or not predicate(item):
        return None
    return getattr(admin, "kept_message", None) or _l(
        "This record moved points, stock or money and is kept: correct it with a new entry instead.")


def delete(item, *, commit: bool = True, session=None) -> None:
    """Delete ``item`` unless it is kept (``Admin.kept``) or other rows still depend on it."""
    session = session or db.session
    reason = kept_reason(item)
    if reason is not None:
        raise DomainError(_l("Cannot delete: %(reason)s", reason=reason))
    blocking = blockers(item, session)
    if blocking:
        text = "、".join(gettext("%(count)d %(label)s", count=n, label=label) for label, n in blocking)
        raise DomainError(_l("Cannot delete: it still has %(what)s. Move or delete them first.", what=text))
    try:
        if hasattr(item, "before_delete"):
            item.before_delete(session)  # what the model must undo first
        session.delete(item)
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(_l("Cannot delete: other records still refer to it.")) from exc
    except DomainError:
        session.rollback()
        raise
    if commit:
        session.commit()


def move_status(item, sources, target, message, **values) -> None:
    """Move ``item.status`` from one of ``sources`` to ``target`` (and set ``values``) in
    one conditional UPDATE: of two requests at once, one wins and the other gets
    DomainError(``message``) with nothing changed. The caller commits (or rolls back)."""
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    model = type(item)
    won = db.session.execute(update(model).where(model.id == item.id, model.status.in_(tuple(sources)))
                             .values(status=target, **values)
                             .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        raise DomainError(message)
    for name, value in {"status": target, **values}.items():
        set_committed_value(item, name, value)


def claim(item, expected_status, message, *, any_version: bool = False) -> None:
    """The first thing a workflow step does: ``UPDATE … SET version = version + 1 WHERE
    id = :id AND version = :v AND status = :s`` on ``item`` (a :class:`app.base.Versioned`
    row) as it was loaded. Of two steps racing from one snapshot exactly one matches (the
    row stays locked until its transaction ends; on PostgreSQL the other waits, then finds
    the version moved on); the other gets :class:`Conflict` (``message``) after a rollback,
    so nothing of it is written. ``any_version``: only the status must match (a step that
    others may take alongside, which must still stop a step made on the old state)."""
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    model = type(item)
    version = item.version or 0
    condition = [model.id == item.id, model.status == expected_status]
    if not any_version:
        condition.append(model.version == version)
    try:
        won = db.session.execute(update(model).where(*condition).values(version=model.version + 1)
                                 .returning(model.version).execution_options(synchronize_session=False)).scalar()
    except OperationalError as exc:  # SQLite: another writer committed since this snapshot was read
        if "locked" not in str(exc.orig).lower():
            raise
        won = None
    if won is None:
        db.session.rollback()
        raise Conflict(message)
    set_committed_value(item, "version", won)
