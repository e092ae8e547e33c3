"""A framework-free Excel engine: import templates, tolerant reading, error workbooks, exports.

Nothing here imports Flask or SQLAlchemy; the registry drives it with plain :class:`Column`
descriptions. Every text the functions write into a workbook is a plain ``str`` the caller
has already translated: column headers/descriptions/choices come in the columns, and the
module's own fixed texts (instructions, error column title, sheet names, yes/no) come in a
:class:`Texts` whose English defaults the caller replaces with :func:`translated_texts`
(call it inside an app or request context).

* :func:`write_template` — the import template (headers, instructions row, dropdowns that
  reference a hidden choices sheet, text format on ID/phone/text columns).
* :func:`read_rows` — reads an uploaded workbook with openpyxl's streaming reader and
  normalises values by column kind (full-width digits, IDs typed as numbers, Chinese dates…);
  it never validates a cell, it only normalises what can be normalised.
* :func:`write_error_workbook` — every row of the upload again, with an error column,
  red fills and comments on the wrong cells, so the user fixes it and imports the same file.
* :class:`XlsxWriter` — a constant-memory export (write-only workbook) that neutralises
  formula injection; its files read back through :func:`read_rows` to the same values.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Callable, Iterable, Iterator, Mapping, Sequence

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

__all__ = [
    "KINDS", "TEXT_KINDS", "Column", "Texts", "Row", "SheetRead", "ReadResult", "ExcelFormatError",
    "TEXT_MSGIDS", "translated_texts", "write_template", "read_rows", "write_error_workbook", "row_label",
    "XlsxWriter", "normalise_header", "normalise_value", "neutralise", "unneutralise",
]

KINDS = ("text", "int", "float", "date", "datetime", "bool", "choice", "id_number", "phone")
#: kinds whose cells are formatted as text ("@") so Excel keeps leading zeros and all digits
TEXT_KINDS = frozenset({"text", "id_number", "phone", "choice"})

TEMPLATE_ROWS = 1000          # rows 3..TEMPLATE_ROWS of the template are pre-formatted
DATA_START_ROW = 3
HEADER_SCAN_ROWS = 10         # the header row is looked for in the first rows of the sheet
PROGRESS_EVERY = 200
MAX_CELL_CHARS = 32767        # Excel's limit for one cell
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_BOLD = Font(bold=True)
_HINT_FONT = Font(italic=True, color="808080")
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")


# --------------------------------------------------------------------------- descriptions

@dataclass
class Column:
    name: str                           # model attribute name, e.g. "id_number"
    header: str                         # the (translated) header users see, e.g. "身份证号"
    kind: str = "text"                  # one of KINDS
    required: bool = False
    choices: Sequence[str] = ()         # labels offered as a dropdown (kind == "choice")
    description: str = ""               # shown in the instructions row of the template
    width: int = 16

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r} (expected one of {KINDS})")
        self.choices = [str(c) for c in (self.choices or ())]


@dataclass
class Texts:
    """The module's own texts, in English; pass :func:`translated_texts` for the user's language."""
    instructions: str = "Fill one row per record from row 3. Columns marked * are required."
    required_mark: str = "*"
    errors_header: str = "Errors"
    choices_sheet: str = "choices"
    data_sheet: str = "data"
    yes: str = "Yes"
    no: str = "No"
    row: str = "Row %(row)s"
    sheet_row: str = "Sheet “%(sheet)s”, row %(row)s"
    message_separator: str = "；"        # between the messages of one row
    label_separator: str = "："          # between a column header and its message


#: msgids of the translatable :class:`Texts` fields (the separators and the mark are not words)
TEXT_MSGIDS = {
    "instructions": _l("Fill one row per record from row 3. Columns marked * are required."),
    "errors_header": _l("Errors"),
    "choices_sheet": _l("choices"),
    "data_sheet": _l("data"),
    "yes": _l("Yes"),
    "no": _l("No"),
    "row": _l("Row %(row)s"),
    "sheet_row": _l("Sheet “%(sheet)s”, row %(row)s"),
}


def translated_texts(**overrides) -> Texts:
    """:class:`Texts` in the current locale; call inside an app/request context."""
    values = {key: str(msgid) for key, msgid in TEXT_MSGIDS.items()}
    values.update(overrides)
    return Texts(**values)


@dataclass
class Row:
    number: int                         # the Excel row number (for messages)
    values: dict[str, object]           # column name -> normalised value (None when empty or absent)
    raw: list[object]                   # the original cell values of the row, in sheet order
    sheet: str = ""                     # the title of the sheet the row is on

    @property
    def key(self) -> tuple[str, int]:
        """Where the row is: (sheet title, Excel row number), the key of its errors."""
        return (self.sheet, self.number)


@dataclass
class SheetRead:
    """One sheet that carries the header row."""
    title: str
    headers: list[str]
    header_row: int
    missing_columns: list[str]
    unknown_columns: list[str]
    present: list[str]
    rows: list[Row] = field(default_factory=list)
    #: non-blank rows that are not data (titles above the header, the instructions row):
    #: {Excel row number: values}, so the error workbook keeps every row where it was
    kept: dict[int, list] = field(default_factory=dict)
    last_row: int = 0


@dataclass
class ReadResult:
    headers: list[str]                  # the sheet's header row as found
    rows: list[Row]
    missing_columns: list[str]          # headers of required columns not found
    unknown_columns: list[str]          # extra headers, ignored
    present: list[str] = field(default_factory=list)   # names of the columns found in the sheet
    header_row: int = 1                 # the Excel row number of the header row
    sheet_title: str = ""
    #: every sheet read (the fields above are the first one's; ``rows`` are all sheets')
    sheets: list[SheetRead] = field(default_factory=list)


class ExcelFormatError(ValueError):
    """The upload is not a readable .xlsx, is empty, or has no recognisable header row.

    ``message`` is a lazy msgid: render it with ``str()`` inside a request.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _not_xlsx():
    return ExcelFormatError(_l("The file is not an Excel workbook (.xlsx). Save it as .xlsx and try again."))


# --------------------------------------------------------------------------- small helpers

def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet_name(name: str, fallback: str) -> str:
    """A legal sheet title: no []:*?/\\, at most 31 characters, not empty."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", str(name or "")).strip().strip("'")
    return cleaned[:31] or fallback


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _clean_text(text: str) -> str:
    """Remove characters an xlsx cannot hold and cap the length of a cell."""
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text[:MAX_CELL_CHARS]


def _num_to_str(value) -> str:
    """1 -> "1", 2.0 -> "2", 4.20902199001011e17 -> "420902199001011000" (never an exponent).

    Floats keep at most 15 significant digits, as Excel shows them (an 18-digit ID typed as a
    number has already lost its last digits in Excel; the caller's checksum reports it).
    """
    if isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        value = Decimal("%.15g" % value)
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_DANGEROUS_FIRST = ("=", "+", "-", "@")


def _dangerous(text: str) -> bool:
    if not text:
        return False
    if text[0] in ("\t", "\r"):
        return True
    if text.lstrip(" \t\r\n")[:1] in _DANGEROUS_FIRST:
        return True
    return text[0] == "'" and _dangerous(text[1:])


def neutralise(text: str) -> str:
    """Prefix ``'`` to a string a spreadsheet would run as a formula ("=1+1", "+86", "-", "@a")."""
    return "'" + text if _dangerous(text) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (exactly: ``unneutralise(neutralise(s)) == s`` for every s)."""
    if text[:1] == "'" and _dangerous(text[1:]):
        return text[1:]
    return text


def normalise_header(text) -> str:
    """The key headers are matched on: NFKC, no whitespace, no trailing '*', case-folded."""
    if text is None:
        return ""
    key = _nfkc(str(text))
    key = re.sub(r"\s+", "", key)
    key = key.rstrip("*＊")
    return key.casefold()


# --------------------------------------------------------------------------- value normalisation

_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_FLOAT_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TRUE = {"yes", "y", "true", "t", "1", "是", "对", "√", "✓"}
_FALSE = {"no", "n", "false", "f", "0", "否", "错", "×", "✗"}


def _numeric_text(text: str) -> str:
    if _THOUSANDS_RE.match(text):
        return text.replace(",", "")
    return text


def _to_int(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, str):
        text = _numeric_text(value)
        if _INT_RE.match(text):
            return int(text.split(".")[0])
    return value


def _to_float(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        text = _numeric_text(value)
        if _FLOAT_RE.match(text):
            return float(text)
    return value


def _parse_date_text(text: str):
    match = _DATE_RE.match(text)
    if match:
        y, m, d = (int(g) for g in match.group(1, 2, 3))
        hh, mm, ss = (int(g) if g else 0 for g in match.group(4, 5, 6))
        try:
            return datetime(y, m, d, hh, mm, ss), bool(match.group(4))
        except ValueError:
            return None, False
    match = _COMPACT_DATE_RE.match(text)
    if match:
        try:
            return datetime(*(int(g) for g in match.groups())), False
        except ValueError:
            return None, False
    return None, False


def _to_datetime(value, *, date_only: bool):
    if isinstance(value, datetime):
        return value.date() if date_only else value
    if isinstance(value, date):
        return value if date_only else datetime.combine(value, time())
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if float(value).is_integer() and 19000101 <= value <= 99991231:    # typed as 20240301
            parsed, _ = _parse_date_text(str(int(value)))
        elif 61 <= value <= 2958465:                                        # an Excel serial
            parsed = from_excel(value)
        else:
            parsed = None
        if isinstance(parsed, datetime):
            return parsed.date() if date_only else parsed
        return value
    if isinstance(value, str):
        parsed, _has_time = _parse_date_text(value)
        if parsed is not None:
            return parsed.date() if date_only else parsed
    return value


def _to_bool(value, texts: Texts):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = value.casefold()
        if key in _TRUE or key == _nfkc(texts.yes).strip().casefold():
            return True
        if key in _FALSE or key == _nfkc(texts.no).strip().casefold():
            return False
    return value


def _as_text(value) -> str:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _num_to_str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def normalise_value(value, column: Column, texts: Texts | None = None):
    """Normalise one cell by the column's kind; what cannot be normalised is returned as found.

    Strings are NFKC-normalised and stripped (full-width digits and spaces become ASCII) and
    lose the quote :func:`neutralise` added; empty becomes None.
    """
    texts = texts or Texts()
    if value is None:
        return None
    if isinstance(value, str):
        value = _nfkc(unneutralise(value)).strip()
        if not value:
            return None
    kind = column.kind
    if kind == "int":
        return _to_int(value)
    if kind == "float":
        return _to_float(value)
    if kind == "date":
        return _to_datetime(value, date_only=True)
    if kind == "datetime":
        return _to_datetime(value, date_only=False)
    if kind == "bool":
        return _to_bool(value, texts)
    if kind == "id_number":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 10**15:
            # 16+ digits kept as a number: Excel has already rounded the last digits. The
            # number is handed on as it is, so the ID check can say what happened.
            return value
        text = _as_text(value)
        return re.sub(r"\s+", "", text).replace("x", "X") or None
    if kind == "phone":
        return re.sub(r"\s+", "", _as_text(value)) or None
    if kind == "choice":
        text = _as_text(value)
        key = normalise_header(text)
        for label in column.choices:
            if normalise_header(label) == key:
                return label
        return text
    # text
    return _as_text(value)


# --------------------------------------------------------------------------- template

def _cell_format(column: Column) -> str | None:
    if column.kind in TEXT_KINDS:
        return TEXT_FORMAT
    if column.kind == "date":
        return DATE_FORMAT
    if column.kind == "datetime":
        return DATETIME_FORMAT
    return None


def _to_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _put_text(cell, text: str) -> None:
    """Write a literal string (never a formula or an error code)."""
    cell.value = _clean_text(text)
    cell.data_type = "s"


def write_template(columns: list[Column], texts: Texts = Texts()) -> bytes:
    """The import template of ``columns`` as .xlsx bytes (see the module docstring)."""
    wb = Workbook()
    ws = wb.active
    data_title = _sheet_name(texts.data_sheet, "data")
    choices_title = _sheet_name(texts.choices_sheet, "choices")
    if choices_title.casefold() == data_title.casefold():
        choices_title = _sheet_name(choices_title[:28] + " 2", "choices")
    ws.title = data_title
    # the reader recognises the instructions row by this text, whatever the user's language is
    wb.properties.description = texts.instructions

    choices_ws = None
    choice_col = 0
    last_row = max(TEMPLATE_ROWS, DATA_START_ROW)

    for index, column in enumerate(columns, 1):
        letter = get_column_letter(index)
        header = column.header + (texts.required_mark if column.required else "")
        cell = ws.cell(row=1, column=index)
        _put_text(cell, header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center")

        hint = ws.cell(row=2, column=index)
        text = texts.instructions if index == 1 else column.description
        if text:
            _put_text(hint, text)
        hint.font = _HINT_FONT
        hint.alignment = _WRAP_TOP

        ws.column_dimensions[letter].width = column.width

        fmt = _cell_format(column)
        if fmt:
            for row in range(DATA_START_ROW, last_row + 1):
                ws.cell(row=row, column=index).number_format = fmt

        options: list[str] = []
        if column.kind == "choice":
            options = list(column.choices)
        elif column.kind == "bool":
            options = [texts.yes, texts.no]
        if options:
            if choices_ws is None:
                choices_ws = wb.create_sheet(choices_title)
                choices_ws.sheet_state = "hidden"
            choice_col += 1
            choice_letter = get_column_letter(choice_col)
            for i, option in enumerate(options, 1):
                _put_text(choices_ws.cell(row=i, column=choice_col), option)
            reference = (f"{_quote_sheet(choices_ws.title)}!${choice_letter}$1:"
                         f"${choice_letter}${len(options)}")
            validation = DataValidation(type="list", formula1=reference, allow_blank=True,
                                        showErrorMessage=True)
            validation.add(f"{letter}{DATA_START_ROW}:{letter}1048576")
            ws.add_data_validation(validation)

    ws.row_dimensions[2].height = 45
    ws.freeze_panes = f"A{DATA_START_ROW}"
    wb.active = 0
    return _to_bytes(wb)


# --------------------------------------------------------------------------- reading

def _open_workbook(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(data))
    else:
        stream = data
        seekable = getattr(stream, "seekable", None)
        if not (callable(seekable) and seekable()):
            stream = io.BytesIO(stream.read())
    try:
        head = stream.read(8)
        stream.seek(0)
    except Exception as exc:
        raise _not_xlsx() from exc
    if not head:
        raise ExcelFormatError(_l("The file is empty."))
    if head.startswith(b"\xd0\xcf\x11\xe0"):          # an OLE file: .xls, or an encrypted .xlsx
        content = stream.read()
        stream.seek(0)
        if "EncryptedPackage".encode("utf-16-le") in content:
            raise ExcelFormatError(_l("The workbook is protected by a password. "
                                      "Remove the password, save it as .xlsx and try again."))
        raise _not_xlsx()
    if not head.startswith(b"PK"):
        raise _not_xlsx()
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
        stream.seek(0)
    except Exception as exc:
        raise _not_xlsx() from exc
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise _not_xlsx()
    try:
        return load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:   # a damaged or foreign zip (.docx, .ods…) — any parser error
        raise _not_xlsx() from exc


def _rows_of(ws) -> Iterator[tuple]:
    """The sheet's rows (values), turning parser failures into ExcelFormatError."""
    iterator = iter(ws.iter_rows(values_only=True))
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise _not_xlsx() from exc
        yield row


def _trim(values: Iterable) -> list:
    values = list(values)
    while values and _is_blank(values[-1]):
        values.pop()
    return values


def _match_columns(headers: Sequence, columns: Sequence[Column]):
    """Map sheet positions to columns: (positions {index: Column}, unknown headers)."""
    by_header = {}
    by_name = {}
    for column in columns:
        by_header.setdefault(normalise_header(column.header), column)
        by_name.setdefault(normalise_header(column.name), column)
    positions: dict[int, Column] = {}
    taken: set[str] = set()
    unknown: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        if not key:
            continue
        column = by_header.get(key) or by_name.get(key)
        if column is None or column.name in taken:
            unknown.append(str(header).strip())
            continue
        taken.add(column.name)
        positions[index] = column
    return positions, unknown


def _is_instructions(row: Sequence, texts: Texts, extra: Iterable[str]) -> bool:
    first = next((v for v in row if not _is_blank(v)), None)
    if not isinstance(first, str):
        return False
    first = normalise_header(first)
    candidates = [texts.instructions, Texts.instructions, *extra]
    return any(c and first.startswith(normalise_header(c)) for c in candidates)


def _uncomputed_formulas(ws, from_row: int) -> list[str]:
    """Cells (e.g. "B5") at or below ``from_row`` holding a formula without a computed value:
    a file written by a program (openpyxl, pandas…) and never opened and saved by a
    spreadsheet. Read with ``data_only`` such cells look empty; they are refused instead.
    Reads the sheet's XML once more, streaming (openpyxl's read-only sheet gives its source)."""
    from openpyxl.utils.cell import coordinate_from_string
    from openpyxl.xml.functions import iterparse

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    found: list[str] = []
    row_number, column_number = 0, 0
    with ws._get_source() as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == ns + "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column_number = 0
                continue
            if element.tag == ns + "c":
                column_number += 1
                reference = element.get("r")
                if reference:
                    _, row_number = coordinate_from_string(reference)
                else:
                    reference = f"{get_column_letter(column_number)}{row_number}"
                if element.find(ns + "f") is not None and row_number >= from_row \
                        and not element.findtext(ns + "v") and element.get("t") not in ("str", "inlineStr"):
                    found.append(reference)
                element.clear()
            elif element.tag == ns + "row":
                element.clear()
    return found


def _scan_sheet(ws, columns, texts: Texts, extra_instructions, progress, offset: int, count: int,
                max_rows: int | None = None):
    """(SheetRead of a sheet carrying the header, or None; whether the sheet has content)."""
    total = ws.max_row or 0
    ws.reset_dimensions()      # some writers declare wrong dimensions: read what is there
    rows_iter = _rows_of(ws)
    scanned: list[tuple[int, tuple]] = []
    best = None                # (matches, row number, headers)
    seen_any = False
    for number, values in enumerate(rows_iter, 1):
        scanned.append((number, values))
        if any(not _is_blank(v) for v in values):
            seen_any = True
            headers = _trim(values)
            positions, _ = _match_columns(headers, columns)
            if positions and (best is None or len(positions) > best[0]):
                best = (len(positions), number, headers)
        if number >= HEADER_SCAN_ROWS:
            break
    if best is None:
        if not seen_any:   # a blank start may hide rows further down: they count as content
            seen_any = any(any(not _is_blank(v) for v in values) for values in rows_iter)
        return None, seen_any

    _, header_number, header_values = best
    headers = ["" if v is None else str(v) for v in header_values]
    positions, unknown = _match_columns(header_values, columns)
    present = {column.name for column in positions.values()}
    sheet = SheetRead(title=ws.title, headers=_trim(headers), header_row=header_number,
                      missing_columns=[c.header for c in columns if c.required and c.name not in present],
                      unknown_columns=unknown, present=[c.name for c in columns if c.name in present])
    for number, values in scanned:
        if number < header_number and any(not _is_blank(v) for v in values):
            sheet.kept[number] = _trim(values)     # a title above the header: kept as it was

    def remaining():
        for number, values in scanned:
            if number > header_number:
                yield number, values
        yield from enumerate(rows_iter, len(scanned) + 1)

    first_data = True
    last_number = header_number
    for number, values in remaining():
        last_number = number
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(offset + number, offset + max(total, number))
        if not any(not _is_blank(v) for v in values):
            continue
        if first_data and number == header_number + 1 and \
                _is_instructions(values, texts, extra_instructions):
            first_data = False
            sheet.kept[number] = _trim(values)     # the instructions row: kept, not imported
            continue
        first_data = False
        if max_rows is not None and count + len(sheet.rows) >= max_rows:
            raise ExcelFormatError(_l(
                "The sheet has more than %(max)d rows. Split it into smaller files and import "
                "them one by one.", max=max_rows))
        normalised = {c.name: None for c in columns}
        for index, column in positions.items():
            if index < len(values):
                normalised[column.name] = normalise_value(values[index], column, texts)
        sheet.rows.append(Row(number=number, values=normalised, raw=_trim(values), sheet=ws.title))
    sheet.last_row = last_number
    return sheet, True


def _names(titles) -> str:
    return "、".join(f"“{t}”" for t in titles)


def read_rows(data: bytes | IO, columns: list[Column], *,
              progress: Callable[[int, int], None] | None = None,
              texts: Texts | None = None, max_rows: int | None = None) -> ReadResult:
    """Read an uploaded workbook into normalised rows (see the module docstring).

    Every sheet whose first rows carry the header row (one or more of the columns) is
    read, in the workbook's order; a visible sheet with content but no header row makes
    the whole file refused, naming it (rows are never left behind silently); hidden
    sheets without a header (the template's list of choices) are ignored.

    Raises :class:`ExcelFormatError` when the file is not an .xlsx, is empty, has no header
    row matching any column, has content on sheets without one, has formula cells
    without a computed value, or (with ``max_rows``) has more data rows than allowed.
    """
    texts = texts or Texts()
    wb = _open_workbook(data)
    try:
        if not wb.worksheets:
            raise ExcelFormatError(_l("The file is empty."))
        extra_instructions = [wb.properties.description] if wb.properties and \
            wb.properties.description else []
        sheets: list[SheetRead] = []
        looked_at: list[str] = []
        without_header: list[str] = []
        count = offset = 0       # rows read, and Excel rows gone through (for the progress)
        for ws in wb.worksheets:
            sheet, has_content = _scan_sheet(ws, columns, texts, extra_instructions, progress, offset,
                                             count, max_rows)
            if ws.sheet_state == "visible":
                looked_at.append(ws.title)
            if sheet is None:
                if has_content and ws.sheet_state == "visible":
                    without_header.append(ws.title)
                continue
            sheets.append(sheet)
            count += len(sheet.rows)
            offset += sheet.last_row
        if not sheets:
            if not without_header:
                raise ExcelFormatError(_l("The file is empty."))
            raise ExcelFormatError(_l(
                "No header row was found on the sheet(s) %(sheets)s: their first rows contain none of "
                "the columns %(headers)s. Download the template and keep its header row.",
                sheets=_names(looked_at), headers="、".join(c.header for c in columns)))
        if without_header:
            raise ExcelFormatError(_l(
                "The sheet(s) %(sheets)s have content but not the template's header row, so their rows "
                "cannot be imported; nothing was imported. Move those rows under the header row (or give "
                "their sheet the header row), or delete those sheets, and import the file again.",
                sheets=_names(without_header)))
        several = len(sheets) > 1
        formulas = []
        for sheet in sheets:
            cells = _uncomputed_formulas(wb[sheet.title], sheet.header_row + 1)
            formulas.extend(f"{sheet.title}!{cell}" if several else cell for cell in cells)
        if formulas:
            shown = "、".join(formulas[:20]) + ("…" if len(formulas) > 20 else "")
            raise ExcelFormatError(_l(
                "%(count)d cells hold a formula without a computed value (the file was written by a "
                "program and never saved by a spreadsheet): %(cells)s. Open the file in Excel or WPS, "
                "save it, and import it again — or type the values instead of the formulas.",
                count=len(formulas), cells=shown))
        if progress is not None:
            progress(offset, offset)
        first = sheets[0]
        return ReadResult(headers=first.headers, rows=[row for sheet in sheets for row in sheet.rows],
                          missing_columns=first.missing_columns, unknown_columns=first.unknown_columns,
                          present=first.present, header_row=first.header_row, sheet_title=first.title,
                          sheets=sheets)
    finally:
        wb.close()


# --------------------------------------------------------------------------- error workbook

def _excel_value(value):
    """A value as a write-ready (value, number_format) pair."""
    if isinstance(value, str):
        return neutralise(_clean_text(value)), None
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value, DATE_FORMAT
        return value, DATETIME_FORMAT
    if isinstance(value, date):
        return value, DATE_FORMAT
    if isinstance(value, float) and not math.isfinite(value):
        return None, None
    if isinstance(value, (bool, int, float, Decimal, time)) or value is None:
        return value, None
    return neutralise(_clean_text(str(value))), None


def write_error_workbook(headers: list[str], rows: list[Row],
                         errors: dict, columns: list[Column], texts: Texts = Texts(), *,
                         sheets: Sequence[SheetRead] | None = None) -> bytes:
    """All ``rows`` again under their original ``headers`` plus an error column.

    ``errors`` maps a :attr:`Row.key` (sheet, number) — or, for one sheet, a
    :attr:`Row.number` — to {column name or None: [messages]}; messages are plain
    (translated) strings. Every row keeps its own row number (titles and the instructions
    row of ``sheets`` are written back where they were), each sheet of ``sheets`` becomes a
    sheet of the same title. Wrong cells get a red fill and a comment; the error column
    lists the row's messages, led by the row ("第5行") and each prefixed by its column
    header (row-level ones are not).
    """
    if not sheets:
        sheets = [SheetRead(title=_sheet_name(texts.data_sheet, "data"), headers=list(headers),
                            header_row=1, missing_columns=[], unknown_columns=[], present=[],
                            rows=list(rows))]
    else:
        by_sheet: dict[str, list[Row]] = {}
        for row in rows:
            by_sheet.setdefault(row.sheet, []).append(row)
        sheets = [SheetRead(title=s.title, headers=s.headers, header_row=s.header_row,
                            missing_columns=[], unknown_columns=[], present=[],
                            rows=by_sheet.get(s.title, []), kept=s.kept) for s in sheets]
    wb = Workbook(write_only=True)
    for sheet in sheets:
        _error_sheet(wb, sheet, errors, columns, texts, several=len(sheets) > 1)
    return _to_bytes(wb)


def _error_sheet(wb, sheet: SheetRead, errors: dict, columns: list[Column], texts: Texts,
                 several: bool) -> None:
    headers = list(sheet.headers)
    while headers and _is_blank(headers[-1]):
        headers.pop()
    rows = sheet.rows
    positions, _ = _match_columns(headers, columns)
    index_of = {column.name: index for index, column in positions.items()}
    by_name = {column.name: column for column in columns}
    width = max([len(headers)] + [len(_trim(r.raw)) for r in rows] +
                [len(values) for values in sheet.kept.values()])
    error_index = width            # 0-based position of the error column

    ws = wb.create_sheet(_sheet_name(sheet.title, "data"))
    for index in range(width):
        column = positions.get(index)
        ws.column_dimensions[get_column_letter(index + 1)].width = column.width if column else 16
    ws.column_dimensions[get_column_letter(error_index + 1)].width = 60
    ws.freeze_panes = f"A{sheet.header_row + 1}"

    written = 0

    def pad(number: int) -> None:
        """Blank rows up to ``number`` (exclusive), so every row keeps its own number."""
        nonlocal written
        while written < number - 1:
            ws.append([])
            written += 1

    for number in sorted(n for n in sheet.kept if n < sheet.header_row):
        pad(number)
        ws.append([_excel_value(v)[0] for v in sheet.kept[number]])
        written += 1
    pad(sheet.header_row)
    header_cells = []
    for text in headers + [""] * (width - len(headers)) + [texts.errors_header]:
        cell = WriteOnlyCell(ws)
        if text:
            _put_text(cell, text)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        header_cells.append(cell)
    ws.append(header_cells)
    written += 1

    kept_below = {n: v for n, v in sheet.kept.items() if n > sheet.header_row}
    for row in sorted(list(rows) + [Row(number=n, values={}, raw=[], sheet="") for n in kept_below],
                      key=lambda r: r.number):
        pad(row.number)
        written += 1
        if row.number in kept_below and not row.values and not row.raw:   # the instructions row
            cells = []
            for value in kept_below[row.number]:
                cell = WriteOnlyCell(ws)
                value, _fmt = _excel_value(value)
                if isinstance(value, str):
                    _put_text(cell, value)
                else:
                    cell.value = value
                cell.font = _HINT_FONT
                cells.append(cell)
            ws.append(cells)
            continue
        row_errors = errors.get(row.key) or errors.get(row.number) or {}
        messages: list[str] = []
        wrong: dict[int, list[str]] = {}
        for key, texts_of_key in row_errors.items():
            texts_of_key = [str(m) for m in (texts_of_key or []) if m]
            if not texts_of_key:
                continue
            if key is None:
                messages.extend(texts_of_key)
                continue
            column = by_name.get(key)
            label = column.header if column else str(key)
            messages.extend(f"{label}{texts.label_separator}{m}" for m in texts_of_key)
            if key in index_of:
                wrong.setdefault(index_of[key], []).extend(texts_of_key)

        raw = list(row.raw) + [None] * (width - len(row.raw))
        cells = []
        for index, value in enumerate(raw[:width]):
            column = positions.get(index)
            value, fmt = _excel_value(value)
            if column is not None and column.kind in TEXT_KINDS and value is not None \
                    and not isinstance(value, str):
                value, fmt = neutralise(_as_text(value)), None
            if column is not None and column.kind in TEXT_KINDS:
                fmt = TEXT_FORMAT
            if value is None and index not in wrong and fmt is None:
                cells.append(None)
                continue
            cell = WriteOnlyCell(ws)
            if isinstance(value, str):
                _put_text(cell, value)
            elif value is not None:
                cell.value = value
            if fmt:
                cell.number_format = fmt
            if index in wrong:
                cell.fill = _ERROR_FILL
                comment = Comment("\n".join(wrong[index]), texts.errors_header)
                comment.width = 240
                comment.height = max(60, 20 * len(wrong[index]) + 20)
                cell.comment = comment
            cells.append(cell)
        if messages:
            cell = WriteOnlyCell(ws)
            where = row_label(row, texts, several)
            _put_text(cell, where + texts.label_separator + texts.message_separator.join(messages))
            cell.fill = _ERROR_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        ws.append(cells)


def row_label(row: Row, texts: Texts, with_sheet: bool) -> str:
    """Where a row is, in words: "第5行", or "工作表“二组”第5行" when the file has several sheets."""
    if with_sheet and row.sheet:
        return texts.sheet_row % {"sheet": row.sheet, "row": row.number}
    return texts.row % {"row": row.number}


# --------------------------------------------------------------------------- export

class XlsxWriter:
    """A constant-memory export: a write-only workbook streamed row by row.

    ``append`` takes the values in column order (or a mapping keyed by column name). Text
    kinds are written as text, numbers as numbers, dates with a yyyy-mm-dd format, booleans
    as the yes/no labels; strings a spreadsheet would run as formulas are neutralised.
    """

    def __init__(self, columns: list[Column], sheet_title: str, texts: Texts | None = None):
        self.columns = list(columns)
        self.texts = texts or Texts()
        self.rows = 0
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(_sheet_name(sheet_title, "data"))
        for index, column in enumerate(self.columns, 1):
            self._ws.column_dimensions[get_column_letter(index)].width = column.width
        self._ws.freeze_panes = "A2"
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self._ws)
            _put_text(cell, column.header)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            header.append(cell)
        self._ws.append(header)
        self._saved = False

    def mark(self, text: str) -> None:
        """A watermark of the printed sheet (header and footer of every page): who
        exported it, and when."""
        self._ws.oddHeader.center.text = text
        self._ws.oddFooter.center.text = text

    def _cell(self, column: Column, value):
        if value is None:
            return None
        if isinstance(value, bool):
            value = self.texts.yes if value else self.texts.no
        kind = column.kind
        cell = WriteOnlyCell(self._ws)
        if kind in TEXT_KINDS:
            text = value if isinstance(value, str) else _as_text(value)
            _put_text(cell, neutralise(_clean_text(text)))
            cell.number_format = TEXT_FORMAT
            return cell
        if kind in ("date", "datetime") and isinstance(value, (date, datetime)):
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)
                if kind == "date":
                    value = value.date()
            cell.value = value
            cell.number_format = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
            return cell
        value, fmt = _excel_value(value)
        if value is None:
            return None
        if isinstance(value, str):
            _put_text(cell, value)
        else:
            cell.value = value
        if fmt:
            cell.number_format = fmt
        return cell

    def append(self, values: Sequence[object] | Mapping[str, object]) -> None:
        if self._saved:
            raise RuntimeError("the export has already been saved")
        if isinstance(values, Mapping):
            values = [values.get(column.name) for column in self.columns]
        self._ws.append([self._cell(column, value) for column, value in zip(self.columns, values)])
        self.rows += 1

    def save_to(self, stream: IO[bytes]) -> None:
        if self._saved:
            raise RuntimeError("the export has already been saved")
        self._saved = True
        self._wb.save(stream)

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.save_to(buffer)
        return buffer.getvalue()

    def discard(self) -> None:
        """Abandon an unsaved export (e.g. after an error) and remove its temporary file."""
        if self._saved:
            return
        self._saved = True
        ws = self._ws
        try:
            if ws._rows is not None:
                ws._rows.close()
            if ws._writer is not None:
                ws._writer.close()
                ws._writer.cleanup()
        except Exception:   # best effort: openpyxl removes leftovers at exit anyway
            pass

    def __enter__(self) -> "XlsxWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()
