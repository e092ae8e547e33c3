"""Excel import and export of any entity that opts in (``Admin.import_columns``).

The columns of the template, of the import and of the export are the same list, so a
file exported by the platform imports again unchanged (round trip). An import checks
every row before writing any: types, required values, 字典 values, ID numbers and
phones, references by name (scoped), duplicates in the file and in the database — all
through :func:`app.domain.validate_many`, the rules every other writer uses. If any row
fails, nothing is written and the user gets an error workbook; otherwise all rows are
written in one transaction.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field as dc_field

from flask_babel import gettext
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, inspect as sa_inspect, select
from sqlalchemy.orm import RelationshipProperty

from app import domain, excel, scope, sensitive, standards
from app.base import current_user_id
from app.declare import choices_of
from app.dictionary import choices
from app.extensions import db
from app.interface import display_column
from app.records import AuditLog
from app.registry import info_of, label

NON_FIELD = domain.NON_FIELD


def importable(model) -> bool:
    return bool(getattr(model.Admin, "import_columns", None))


def column_names(model) -> list[str]:
    return list(model.Admin.import_columns)


def _kind(model, name: str) -> str:
    prop = sa_inspect(model).attrs.get(name)
    info = info_of(model, name)
    if isinstance(prop, RelationshipProperty):
        return "text"
    if info.get("dict_type") or info.get("choices") is not None:
        return "choice"
    if info.get("kind") in ("id_number", "phone"):
        return info["kind"]
    column_type = prop.columns[0].type
    if isinstance(column_type, Boolean):
        return "bool"
    if isinstance(column_type, (Date, DateTime)):
        return "date"
    if isinstance(column_type, Integer):
        return "int"
    if isinstance(column_type, (Float, Numeric)):
        return "float"
    return "text"


def _choice_labels(model, name: str) -> dict[str, str]:
    """{label: code} of a 字典 or fixed-choice column (codes are accepted too)."""
    info = info_of(model, name)
    if info.get("dict_type"):
        pairs = choices(info["dict_type"])
    else:
        pairs = [(code, str(label)) for code, label in choices_of(info).items()]
    return {label: code for code, label in pairs}


def _required(model, name: str) -> bool:
    prop = sa_inspect(model).attrs.get(name)
    admin = model.Admin
    if name in (getattr(admin, "derive", None) or {}):
        return False
    columns = list(prop.local_columns) if isinstance(prop, RelationshipProperty) else list(prop.columns)
    if isinstance(prop, RelationshipProperty) and prop.uselist:
        return False
    return any(not c.nullable and c.default is None and c.server_default is None for c in columns)


def columns(model) -> list[excel.Column]:
    """The Excel columns of an entity, headers and choices in the user's language."""
    result = []
    for name in column_names(model):
        kind = _kind(model, name)
        info = info_of(model, name)
        prop = sa_inspect(model).attrs.get(name)
        description = info.get("description")
        if isinstance(prop, RelationshipProperty):
            description = gettext("Write the name as the platform shows it")
        result.append(excel.Column(
            name=name, header=str(label(model, name)), kind=kind, required=_required(model, name),
            choices=list(_choice_labels(model, name)) if kind == "choice" else [],
            description=str(description) if description is not None else "",
            width=24 if kind in ("id_number", "text") else 16))
    return result


def template(model) -> bytes:
    return excel.write_template(columns(model), excel.translated_texts())


# ----------------------------------------------------------------------------- import

@dataclass
class Result:
    total: int = 0
    written: int = 0
    updated: int = 0
    #: {(sheet title, excel row number): {column name or None: [messages]}}
    errors: dict = dc_field(default_factory=dict)
    #: problems of the file itself (not xlsx, headers missing…)
    file_errors: list = dc_field(default_factory=list)
    error_workbook: bytes | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors

    @property
    def bad_rows(self) -> int:
        return len(self.errors)

    #: how many sheets the rows came from (errors name the sheet when more than one)
    sheets: int = 1

    def at(self, number: int, sheet: str | None = None) -> dict:
        """The errors of one row, by its Excel row number (on the only sheet, or ``sheet``)."""
        for (title, row), found in self.errors.items():
            if row == number and (sheet is None or title == sheet):
                return found
        return {}

    def messages(self, model=None) -> list[str]:
        """Every row's problems, each naming its row (and its sheet when there are several)
        and its column (by the header of ``model``'s columns when given)."""
        texts = excel.translated_texts()
        headers = {c.name: c.header for c in columns(model)} if model is not None else {}
        lines = []
        for (sheet, number), fields in sorted(self.errors.items()):
            where = excel.row_label(excel.Row(number=number, values={}, raw=[], sheet=sheet), texts,
                                    self.sheets > 1)
            for name, messages in fields.items():
                label = headers.get(name, name) + texts.label_separator if name else ""
                lines.append(f"{where}{texts.label_separator}{label}{texts.message_separator.join(messages)}")
        return lines


def _lookup(model, name: str, text: str, cache: dict):
    """The related row named ``text``, within the acting user's scope, or an error."""
    prop = sa_inspect(model).relationships[name]
    target = prop.mapper.class_
    key = (target, text)
    if key in cache:
        return cache[key]

    stmt = scope.apply(select(target), target)
    if hasattr(target, "lookup"):
        stmt = target.lookup(text, db.session, stmt)
    else:
        stmt = stmt.where(display_column(target) == text)
    if prop.info.get("picker_where") is not None:
        stmt = stmt.where(prop.info["picker_where"]())
    found = db.session.scalars(stmt.limit(2)).all()
    if not found:
        result = (None, gettext("“%(name)s” was not found (or is outside your scope).", name=text))
    elif len(found) > 1:
        result = (None, gettext("“%(name)s” matches several records; for a resident write the ID number, "
                                "for a place its full name (e.g. 建材宿舍 1栋).", name=text))
    else:
        result = (found[0], None)
    cache[key] = result
    return result


def _convert(model, column: excel.Column, value, cache):
    """(value for the model, error message or None)."""
    if value is None:
        return None, None
    prop = sa_inspect(model).attrs.get(column.name)
    if isinstance(prop, RelationshipProperty):
        return _lookup(model, column.name, str(value), cache)
    if column.kind == "choice":
        labels = _choice_labels(model, column.name)
        text = str(value).strip()
        if text in labels:
            return labels[text], None
        if text in labels.values():
            return text, None
        return None, gettext("“%(value)s” is not one of the listed values.", value=text)
    if column.kind == "int" and not isinstance(value, int):
        return None, gettext("Enter a whole number.")
    if column.kind == "float" and not isinstance(value, (int, float)):
        return None, gettext("Enter a number.")
    if column.kind == "date" and not isinstance(value, datetime.date):
        return None, gettext("Enter a date such as 2024-03-01.")
    if column.kind == "bool" and not isinstance(value, bool):
        return None, gettext("Enter 是 or 否.")
    return value, None


def _max_rows() -> int:
    from flask import current_app

    return int(current_app.config.get("IMPORT_MAX_ROWS", 20000))


def _existing(model, key: str, value):
    column = getattr(model, key)
    return db.session.scalars(scope.apply(select(model).where(column == value), model)).first()


def _normal_key(model, key: str, value):
    """The key as the model stores it (normalised by the column's kind), or None."""
    if value is None or str(value).strip() == "":
        return None
    kind = model.__table__.columns[key].info.get("kind")
    if kind == "id_number":
        try:
            return standards.normalize_id_number(value)
        except standards.StandardError:
            return None
    return standards.normalize_text(str(value)).replace(" ", "").upper() if kind == "code" else \
        standards.normalize_text(str(value))


def run(model, data, *, update: bool = False, progress=None, commit: bool = True,
        write_chunk: int = 500, on_writing=None) -> Result:
    """Import ``data`` (.xlsx bytes or file) into ``model``: all rows or none.

    ``progress(phase, done, total)`` reports reading, checking and writing;
    ``on_writing()`` is called once, just before the first row is written."""
    result = Result()
    cols = columns(model)
    texts = excel.translated_texts()
    report = progress or (lambda *_: None)
    try:
        read = excel.read_rows(data, cols, texts=texts, max_rows=_max_rows(),
                               progress=lambda done, total: report("read", done, total))
    except excel.ExcelFormatError as error:
        result.file_errors.append(str(error.message))
        return result
    result.sheets = len(read.sheets) or 1
    for sheet in read.sheets or [read]:
        missing = sheet.missing_columns
        if missing and result.sheets > 1:
            result.file_errors.append(gettext(
                "Sheet “%(sheet)s”: these columns are missing: %(names)s. Download the template and use its "
                "headers.", sheet=sheet.title, names="、".join(missing)))
        elif missing:
            result.file_errors.append(gettext("These columns are missing: %(names)s. Download the template and use its headers.",
                                              names="、".join(missing)))
    if result.file_errors:
        return result
    result.total = len(read.rows)
    if not read.rows:
        result.file_errors.append(gettext("The file has no rows to import."))
        return result

    key = getattr(model.Admin, "import_key", None)
    cache: dict = {}
    items, numbers = [], []
    every = {c.name for c in cols}
    present = {sheet.title: set(sheet.present) or every for sheet in read.sheets} or {"": every}
    with db.session.no_autoflush:  # nothing is written (nor locked) while rows are checked
        _check_rows(model, read, cols, present, key, update, cache, items, numbers, result, report)
    problems = domain.validate_many(items) if items else {}
    for index, fields in problems.items():
        target = result.errors.setdefault(numbers[index], {})
        shown = present.get(numbers[index][0], every)
        for name, messages in fields.items():
            target.setdefault(None if name == NON_FIELD or name not in shown else name, []).extend(
                str(m) for m in messages)
    report("check", result.total, result.total)

    if result.errors:
        domain.discard(items)
        db.session.rollback()
        result.error_workbook = excel.write_error_workbook(read.headers, read.rows, result.errors, cols, texts,
                                                           sheets=read.sheets)
        return result

    result.updated = sum(1 for item in items if sa_inspect(item).persistent)
    if on_writing is not None:
        on_writing()
    try:
        domain.save_many(items, commit=False, chunk=write_chunk,
                         progress=lambda done, total: report("write", done, total))
    except domain.BatchFailed as failed:  # a rule that needed the rows flushed
        for index, fields in failed.problems.items():
            result.errors.setdefault(numbers[index], {}).setdefault(None, []).extend(
                str(m) for ms in fields.values() for m in ms)
        result.error_workbook = excel.write_error_workbook(read.headers, read.rows, result.errors, cols, texts,
                                                           sheets=read.sheets)
        return result
    except domain.DomainError as error:
        result.file_errors.append(str(error.message))
        return result
    result.written = len(items)
    _log_import(model, result)
    if commit:
        db.session.commit()
    return result


def _log_import(model, result: Result) -> None:
    user = scope.acting_user()
    db.session.add(AuditLog(user_id=current_user_id(), username=getattr(user, "username", None),
                            action="import", entity=model.__name__,
                            summary=gettext("%(written)s rows (%(updated)s updated)", written=result.written,
                                            updated=result.updated)))


# ----------------------------------------------------------------------------- export

def export(model, rows, *, reveal: bool = False) -> bytes:
    """The rows as .xlsx in the import layout (constant memory). Sensitive columns are
    masked unless ``reveal`` (a logged export by a permitted role)."""
    cols = columns(model)
    writer = excel.XlsxWriter(cols, str(model.Admin.plural(model))[:31], excel.translated_texts())
    count = 0
    for item in rows:
        writer.append([_cell(model, item, column, getattr(item, column.name), reveal, sensitive)
                       for column in cols])
        count += 1
    if reveal:
        sensitive.log_export(model, count)
        writer.mark(gettext("Unmasked personal data exported by %(who)s", who=sensitive.watermark_text()))
    return writer.save()


def _cell(model, item, column: excel.Column, value, reveal: bool, sensitive):
    prop = sa_inspect(model).attrs.get(column.name)
    if isinstance(prop, RelationshipProperty):
        if value is None:
            return ""
        if hasattr(value, "export_key"):  # a resident by ID number, so names never clash
            return value.export_key(reveal)
        return str(value)
    if not reveal:
        shown = sensitive.shown(item, column.name, value)
        if shown != value:
            return shown  # masked: never turned back into a label
    if column.kind == "choice" and value is not None:
        labels = {code: label for label, code in _choice_labels(model, column.name).items()}
        return labels.get(value, value)
    return value


def _check_rows(model, read, cols, present, key, update, cache, items, numbers, result, report) -> None:
    """Turn rows into model objects (new ones, or existing ones for an update); rows with
    unreadable cells go to ``result.errors``, the others to ``items``."""
    for i, row in enumerate(read.rows, start=1):
        errors: dict = {}
        item = None
        if key and update:
            wanted = _normal_key(model, key, row.values.get(key))
            found = _existing(model, key, wanted) if wanted is not None else None
            if found is not None:
                item = found
        if item is None:
            item = model()
        shown = present.get(row.sheet) or present.get("") or {c.name for c in cols}
        for column in cols:
            if column.name not in shown:
                continue
            value, error = _convert(model, column, row.values.get(column.name), cache)
            if error:
                errors.setdefault(column.name, []).append(error)
                continue
            if value is None and sa_inspect(item).persistent and not column.required:
                continue  # an update leaves what the file does not give
            setattr(item, column.name, value)
        if errors:
            result.errors[row.key] = errors
            if sa_inspect(item).persistent:
                db.session.expire(item)
        else:
            items.append(item)
            numbers.append(row.key)
        if i % 200 == 0:
            report("check", i, result.total)
