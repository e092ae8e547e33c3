"""The Excel engine (app/excel.py): templates, tolerant reading, error workbooks, exports.

Plain functions without fixtures; every text handed to the engine is a plain str.
"""
from __future__ import annotations

import dataclasses
import io
import tracemalloc
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from app import excel
from app.excel import (Column, ExcelFormatError, Row, Texts, XlsxWriter, read_rows,
                       write_error_workbook, write_template)

ZH = Texts(instructions="从第3行起每行填写一条记录，带*的列必填。", errors_header="错误",
           choices_sheet="选项", data_sheet="数据", yes="是", no="否", row="第%(row)s行",
           sheet_row="工作表“%(sheet)s”第%(row)s行")


def columns():
    return [
        Column("name", "姓名", required=True, description="真实姓名"),
        Column("id_number", "身份证号", "id_number", required=True, description="18位", width=22),
        Column("phone", "手机号", "phone"),
        Column("compound", "小区", "choice", choices=["幸福里", "A区, 东", "Lakeside"]),
        Column("is_member", "党员", "bool"),
        Column("birth", "出生日期", "date"),
        Column("household", "户人数", "int"),
        Column("area", "面积", "float"),
    ]


def _load(data: bytes, **kwargs):
    return load_workbook(io.BytesIO(data), **kwargs)


def _save(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _filled_template(rows, texts=ZH, cols=None, extra_headers=()):
    """The template with ``rows`` written from row 3 (and extra header cells after the columns)."""
    cols = cols or columns()
    wb = _load(write_template(cols, texts))
    ws = wb[texts.data_sheet]
    for offset, header in enumerate(extra_headers, len(cols) + 1):
        ws.cell(row=1, column=offset, value=header)
    for r, values in enumerate(rows, 3):
        for c, value in enumerate(values, 1):
            if value is not None:
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"          # typed text, as Excel stores it (never a formula)
    return _save(wb)


# --------------------------------------------------------------------------- template

def test_template_headers_required_marks_and_instructions():
    wb = _load(write_template(columns(), ZH))
    assert wb.sheetnames[0] == "数据"
    ws = wb["数据"]
    headers = [c.value for c in ws[1]]
    assert headers == ["姓名*", "身份证号*", "手机号", "小区", "党员", "出生日期", "户人数", "面积"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes in ("A2", "A3")
    hints = [c.value for c in ws[2]]
    assert hints[0] == ZH.instructions
    assert hints[1] == "18位"
    assert ws["B2"].font.italic
    assert ws.column_dimensions["B"].width == 22


def test_template_text_format_on_id_phone_and_text_columns():
    ws = _load(write_template(columns(), ZH))["数据"]
    for row in (3, 500, 1000):
        assert ws.cell(row=row, column=1).number_format == "@"      # text
        assert ws.cell(row=row, column=2).number_format == "@"      # id_number
        assert ws.cell(row=row, column=3).number_format == "@"      # phone
    assert ws["G3"].number_format == "General"                      # int stays a number


def test_template_dropdowns_reference_a_hidden_choices_sheet():
    wb = _load(write_template(columns(), ZH))
    choices = wb["选项"]
    assert choices.sheet_state == "hidden"
    ws = wb["数据"]
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    compound = validations["D3"]
    assert compound.type == "list"
    assert compound.formula1 == "'选项'!$A$1:$A$3"           # a sheet range, not an inline list
    assert [choices.cell(row=i, column=1).value for i in (1, 2, 3)] == ["幸福里", "A区, 东", "Lakeside"]
    member = validations["E3"]
    assert member.formula1 == "'选项'!$B$1:$B$2"
    assert [choices["B1"].value, choices["B2"].value] == ["是", "否"]


def test_template_with_default_english_texts():
    wb = _load(write_template([Column("name", "Name", required=True)]))
    assert wb.sheetnames == ["data"]                          # no choices sheet without dropdowns
    assert wb["data"]["A1"].value == "Name*"
    assert wb["data"]["A2"].value == Texts().instructions


# --------------------------------------------------------------------------- reading

def test_read_rows_normalises_tricky_values():
    data = _filled_template([
        ["  张三 ", "４２０９０２１９９００１０１１２３x", 13800138000, "幸福里", "是",
         "2024年3月1日", "１２", "８５．５"],
        ["李四", 420902900101123, "138 0013 8000", "lakeside", "No",
         datetime(1990, 1, 1), 3.0, 60],
        ["王五", "420902199001011234", "＋８６ １３８００１３８０００", "东湖", True,
         "2024/3/1", "x", "1,234.5"],
        ["赵六", 4.20902199001011e17, None, None, "1", "20240301", None, None],
        ["钱七", "  ", "　", None, None, "2024-03-01", None, None],
        ["孙八", None, None, None, None, "2024-02-30", 2.5, "abc"],
        [None] * 8,                                       # an empty row in the middle
        ["周九", None, None, None, None, date(2020, 5, 6), None, None],
    ], extra_headers=["备注"])
    # trailing empty rows: the template pre-formats rows up to 1000, plus explicit blanks
    wb = _load(data)
    wb["数据"].cell(row=1200, column=1, value="   ")
    data = _save(wb)

    result = read_rows(data, columns(), texts=ZH)
    assert result.headers[:2] == ["姓名*", "身份证号*"]
    assert result.unknown_columns == ["备注"]
    assert result.missing_columns == []
    assert [r.number for r in result.rows] == [3, 4, 5, 6, 7, 8, 10]

    r = {row.number: row.values for row in result.rows}
    assert r[3] == {"name": "张三", "id_number": "42090219900101123X", "phone": "13800138000",
                    "compound": "幸福里", "is_member": True, "birth": date(2024, 3, 1),
                    "household": 12, "area": 85.5}
    assert r[4]["id_number"] == "420902900101123"              # an ID typed as a number
    assert r[4]["phone"] == "13800138000"
    assert r[4]["compound"] == "Lakeside"                      # matched to the choice label
    assert r[4]["is_member"] is False
    assert r[4]["birth"] == date(1990, 1, 1)
    assert r[4]["household"] == 3 and isinstance(r[4]["household"], int)
    assert r[4]["area"] == 60.0
    assert r[5]["phone"] == "+8613800138000"
    assert r[5]["compound"] == "东湖"                           # not a choice: left for the caller
    assert r[5]["is_member"] is True
    assert r[5]["birth"] == date(2024, 3, 1)
    assert r[5]["household"] == "x"                            # kept so the caller can report it
    assert r[5]["area"] == 1234.5
    ident = r[6]["id_number"]                                  # 18 digits typed as a number:
    assert isinstance(ident, (int, float))                     # handed on as a number, so the
    assert str(int(ident)).startswith("420902199001011")       # ID check can tell Excel rounded it
    assert r[6]["birth"] == date(2024, 3, 1) and r[6]["is_member"] is True
    assert r[7]["id_number"] is None and r[7]["phone"] is None  # blanks become None
    assert r[8]["birth"] == "2024-02-30"                       # not a date: kept as found
    assert r[8]["household"] == 2.5 and r[8]["area"] == "abc"
    assert r[10]["birth"] == date(2020, 5, 6)
    row3 = result.rows[0]
    assert row3.raw[1] == "４２０９０２１９９００１０１１２３x"    # raw keeps what the sheet holds


def test_read_rows_reports_missing_required_and_unknown_headers():
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "电话号码", "手机号"])
    ws.append(["张三", "1", "13800138000"])
    result = read_rows(_save(wb), columns())
    assert result.missing_columns == ["身份证号"]
    assert result.unknown_columns == ["电话号码"]
    assert result.present == ["name", "phone"]
    assert result.rows[0].number == 2                         # no instructions row to skip
    assert result.rows[0].values["id_number"] is None


def test_read_rows_tolerant_headers_and_title_rows():
    wb = Workbook()
    ws = wb.active
    ws.append(["社区居民花名册"])                               # a title above the headers
    ws.append([" 姓名＊ ", "身份证号 *", "ＰＨＯＮＥ"])
    ws.append(["张三", "420902199001011234", "1"])
    cols = [Column("name", "姓名", required=True), Column("id_number", "身份证号", "id_number"),
            Column("phone", "Phone", "phone")]
    result = read_rows(_save(wb), cols)
    assert result.header_row == 2
    assert result.missing_columns == [] and result.unknown_columns == []
    assert result.rows[0].number == 3
    assert result.rows[0].values == {"name": "张三", "id_number": "420902199001011234", "phone": "1"}


def test_read_rows_skips_instructions_written_in_another_language():
    data = _filled_template([["张三", "420902199001011234"]], texts=ZH)
    result = read_rows(data, columns())                      # English Texts: still skipped
    assert [r.number for r in result.rows] == [3]


def test_read_rows_progress_callback():
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名"])
    for i in range(450):
        ws.append([f"居民{i}"])
    calls = []
    result = read_rows(_save(wb), [Column("name", "姓名")], progress=lambda d, t: calls.append((d, t)))
    assert len(result.rows) == 450
    assert calls[:2] == [(200, 451), (400, 451)]
    assert calls[-1] == (451, 451)


@pytest.mark.parametrize("payload", [
    b"",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,           # an old .xls (OLE)
    "姓名,身份证号\n张三,420902199001011234\n".encode("utf-8"),    # a CSV
    bytes(range(256)) * 8,                                        # random bytes
    "zip",                                                         # a zip that is not xlsx
    "docx",                                                        # an OOXML file, not a workbook
])
def test_non_xlsx_input_raises_format_error(payload):
    if payload == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        payload = buffer.getvalue()
    elif payload == "docx":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", "<document/>")
        payload = buffer.getvalue()
    with pytest.raises(ExcelFormatError) as info:
        read_rows(payload, columns())
    assert info.value.message                         # a (lazy) msgid to show the user
    assert isinstance(info.value, ValueError)


def test_non_xlsx_message_and_file_objects():
    with pytest.raises(ExcelFormatError) as info:
        read_rows(io.BytesIO(b"not a workbook"), columns())
    assert "is not an Excel workbook" in str(info.value.message)


def test_password_protected_workbook_has_its_own_message():
    payload = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(ExcelFormatError) as info:
        read_rows(payload, columns())
    assert "password" in str(info.value.message)


def test_workbook_without_matching_header_raises():
    wb = Workbook()
    wb.active.append(["foo", "bar"])
    wb.active.append([1, 2])
    with pytest.raises(ExcelFormatError):
        read_rows(_save(wb), columns())
    with pytest.raises(ExcelFormatError):
        read_rows(_save(Workbook()), columns())           # an empty workbook


def test_max_rows_guard():
    wb = Workbook()
    wb.active.append(["姓名"])
    for i in range(5):
        wb.active.append([f"x{i}"])
    data = _save(wb)
    assert len(read_rows(data, [Column("name", "姓名")], max_rows=5).rows) == 5
    with pytest.raises(ExcelFormatError):
        read_rows(data, [Column("name", "姓名")], max_rows=4)


# --------------------------------------------------------------------------- error workbook

def test_error_workbook_keeps_all_rows_and_marks_wrong_cells():
    cols = columns()
    data = _filled_template([
        ["张三", "42090219900101123x", "13800138000"],
        ["李四", "420902199001011234", "=HYPERLINK(\"x\")"],
        ["王五", "11", "123"],
    ], extra_headers=["备注"])
    result = read_rows(data, cols, texts=ZH)
    errors = {
        3: {"id_number": ["校验位应为X"]},
        5: {"id_number": ["应为18位"], "phone": ["不是手机号"], None: ["与第3行重复"]},
    }
    out = write_error_workbook(result.headers, result.rows, errors, cols, ZH, sheets=result.sheets)
    wb = _load(out)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    assert headers[:len(result.headers)] == result.headers
    assert headers[-1] == "错误"
    error_col = len(headers)
    # every row keeps the upload's own number: header 1, the instructions row 2, data from 3
    assert ws.max_row == 5
    assert ws.cell(row=2, column=1).value == ZH.instructions
    assert [ws.cell(row=r, column=1).value for r in (3, 4, 5)] == ["张三", "李四", "王五"]
    assert ws.cell(row=3, column=error_col).value == "第3行：身份证号：校验位应为X"   # each names its row
    assert ws.cell(row=4, column=error_col).value is None          # a row without errors
    assert ws.cell(row=5, column=error_col).value == "第5行：身份证号：应为18位；手机号：不是手机号；与第3行重复"
    assert ws.cell(row=3, column=2).comment.text == "校验位应为X"
    assert ws.cell(row=5, column=3).comment.text == "不是手机号"
    assert ws.cell(row=5, column=1).comment is None
    assert ws.cell(row=3, column=2).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(row=3, column=error_col).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(row=4, column=2).number_format == "@"
    assert ws.cell(row=4, column=3).data_type == "s"               # no formula from a raw value
    assert ws.freeze_panes == "A2"

    again = read_rows(out, cols, texts=ZH)                         # the user fixes and re-imports
    assert [r.values["name"] for r in again.rows] == ["张三", "李四", "王五"]
    assert again.rows[1].values["phone"] == "=HYPERLINK(\"x\")"
    assert again.unknown_columns == ["备注", "错误"]


# --------------------------------------------------------------------------- export

def export_columns():
    return [
        Column("name", "姓名"),
        Column("id_number", "身份证号", "id_number"),
        Column("phone", "手机号", "phone"),
        Column("household", "户人数", "int"),
        Column("area", "面积", "float"),
        Column("birth", "出生日期", "date"),
        Column("is_member", "党员", "bool"),
        Column("compound", "小区", "choice", choices=["幸福里"]),
    ]


def test_export_neutralises_formulas_and_round_trips():
    writer = XlsxWriter(export_columns(), "居民", ZH)
    rows = [
        ["=1+1", "42090219900101123X", "+86", 3, 85.5, date(2024, 3, 1), True, "幸福里"],
        ["-x", "012345678901234567", "-", -12, -0.5, datetime(1990, 1, 2, 8, 0), False, "@a"],
        [" =cmd", None, "-12", 0, None, None, None, None],
        ["\t@x", 420902199001011234, 13800138000, None, 1, None, None, None],
        ["'=a", "普通", "'x", None, None, None, None, None],
    ]
    for values in rows:
        writer.append(values)
    writer.append({"name": "映射", "household": 7})
    data = writer.save()

    ws = _load(data).active
    assert ws.title == "居民"
    assert [c.value for c in ws[1]] == [c.header for c in export_columns()]
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["C2"].value == "'+86"
    assert ws["A3"].value == "'-x" and ws["C3"].value == "'-" and ws["H3"].value == "'@a"
    assert ws["A4"].value == "' =cmd" and ws["C4"].value == "'-12"
    assert ws["A5"].value == "'\t@x"
    assert ws["D3"].value == -12 and ws["D3"].data_type == "n"      # real numbers stay numbers
    assert ws["E3"].value == -0.5
    assert ws["B2"].number_format == "@" and ws["C2"].number_format == "@"
    assert ws["B5"].value == "420902199001011234" and ws["C5"].value == "13800138000"
    assert ws["F2"].number_format == "yyyy-mm-dd" and ws["F2"].is_date
    assert ws["G2"].value == "是" and ws["G3"].value == "否"
    assert ws.freeze_panes == "A2"
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)

    result = read_rows(data, export_columns(), texts=ZH)
    assert result.unknown_columns == [] and result.missing_columns == []
    got = [r.values for r in result.rows]
    assert got[0] == {"name": "=1+1", "id_number": "42090219900101123X", "phone": "+86",
                      "household": 3, "area": 85.5, "birth": date(2024, 3, 1),
                      "is_member": True, "compound": "幸福里"}
    assert got[1] == {"name": "-x", "id_number": "012345678901234567", "phone": "-",
                      "household": -12, "area": -0.5, "birth": date(1990, 1, 2),
                      "is_member": False, "compound": "@a"}
    assert got[2]["name"] == "=cmd" and got[2]["phone"] == "-12" and got[2]["household"] == 0
    assert got[3]["name"] == "@x" and got[3]["id_number"] == "420902199001011234"
    assert got[3]["phone"] == "13800138000"
    assert got[4]["name"] == "'=a" and got[4]["phone"] == "'x"
    assert got[5]["name"] == "映射" and got[5]["household"] == 7


def test_neutralise_is_exactly_undone():
    for text in ["=1+1", "+86", "-x", "@a", "-", " =a", "\t1", "\rX", "'=a", "''+b",
                 "plain", "'quoted", "", "a=b"]:
        assert excel.unneutralise(excel.neutralise(text)) == text
    assert excel.neutralise("plain") == "plain"
    assert excel.neutralise("a=b") == "a=b"


def test_large_export_streams_in_constant_memory():
    cols = export_columns()
    writer = XlsxWriter(cols, "export")
    row = ["张三", "420902199001011234", "13800138000", 3, 85.5, date(2024, 3, 1), True, "幸福里"]
    for _ in range(45_000):
        writer.append(row)
    # trace the last 5,000 rows only (tracemalloc is slow): rows are streamed to a temporary
    # file, so the memory held does not grow with them (an in-memory sheet would gain ~10 MB)
    tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        for _ in range(5_000):
            writer.append(row)
        after, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 4 * 1024 * 1024
    stream = io.BytesIO()
    writer.save_to(stream)
    assert writer.rows == 50_000
    with zipfile.ZipFile(io.BytesIO(stream.getvalue())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert b'<row r="50001"' in sheet and b'<row r="50002"' not in sheet
    with pytest.raises(RuntimeError):
        writer.append(row)                                # saved: no more rows


def test_discarded_export_removes_its_temporary_file():
    import os

    with XlsxWriter(export_columns(), "x") as writer:
        writer.append(["a"] * 3)
        path = writer._ws._writer.out
        assert os.path.exists(path)
    assert not os.path.exists(path)
    with XlsxWriter(export_columns(), "x") as writer:       # saving inside the block is fine
        writer.append(["a"])
        assert writer.save()


def test_text_msgids_cover_the_translatable_texts():
    fields = {f.name for f in dataclasses.fields(Texts)}
    assert set(excel.TEXT_MSGIDS) <= fields
    assert {"instructions", "errors_header", "yes", "no"} <= set(excel.TEXT_MSGIDS)


def test_row_dataclass_shape():
    row = Row(number=3, values={"name": "x"}, raw=["x"])
    assert (row.number, row.values, row.raw) == (3, {"name": "x"}, ["x"])


# --------------------------------------------------------------------------- several sheets (issue 16, D6)

def _book(sheets: dict, hidden=()):
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if title in hidden:
            ws.sheet_state = "hidden"
    return _save(wb)


def test_every_sheet_with_the_header_is_read_rows_know_their_sheet():
    data = _book({"一组": [["姓名", "身份证号"], ["张三", "x"]],
                  "二组": [["说明：二组名单"], ["身份证号", "姓名"], ["李四", None], [None, "王五"]],
                  "选项": [["汉族"], ["回族"]]}, hidden=("选项",))   # a hidden list: not data
    result = read_rows(data, columns())
    assert [s.title for s in result.sheets] == ["一组", "二组"]
    assert [(r.sheet, r.number, r.values["name"]) for r in result.rows] == [
        ("一组", 2, "张三"), ("二组", 3, None), ("二组", 4, "王五")]
    assert result.rows[1].values["id_number"] == "李四"          # columns by each sheet's own header
    assert result.sheets[1].header_row == 2 and result.sheets[1].kept == {1: ["说明：二组名单"]}


def test_rows_on_a_sheet_without_the_header_refuse_the_file_naming_it():
    data = _book({"数据": [["姓名", "身份证号"], ["张三", "x"]], "补充": [["李四", "420902199001011234"]]})
    with pytest.raises(ExcelFormatError) as info:
        read_rows(data, columns())
    assert "“补充”" in str(info.value) and "“数据”" not in str(info.value)


def test_no_header_names_the_sheets_looked_at():
    data = _book({"封面": [["2024年居民名单"]], "名单": [["张三", "420902199001011234"]]})
    with pytest.raises(ExcelFormatError) as info:
        read_rows(data, columns())
    assert "“封面”" in str(info.value) and "“名单”" in str(info.value)


def test_formula_cells_without_a_computed_value_are_refused_naming_the_cells():
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "手机号"])
    ws.append(["张三", "420902199001011234", "13800138000"])
    ws.append(["李四", "420902199001011234", None])
    ws["C3"] = "=C2"          # openpyxl writes the formula and no value
    ws["B5"] = '=CONCAT("4209","02199001011234")'
    ws["A5"] = "王五"
    with pytest.raises(ExcelFormatError) as info:
        read_rows(_save(wb), columns())
    assert "C3" in str(info.value) and "B5" in str(info.value)


def test_a_formula_with_a_cached_value_is_read_as_its_value():
    import re
    import zipfile

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "手机号"])
    ws.append(["张三", "=\"138\"&\"00138000\""])
    source = io.BytesIO(_save(wb))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():       # what Excel writes: the formula and its last value
            content = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
                                 rb'<c r="B2" t="str"><f>\2</f><v>13800138000</v>', content)
                assert b"<v>13800138000</v>" in content
            zout.writestr(item, content)
    result = read_rows(out.getvalue(), columns())
    assert result.rows[0].values["phone"] == "13800138000"


def test_error_workbook_of_two_sheets_keeps_both_and_names_sheet_and_row():
    data = _book({"一组": [["姓名", "身份证号"], ["张三", "1"]], "二组": [["姓名"], [None], ["李四"]]})
    result = read_rows(data, columns(), texts=ZH)
    errors = {("一组", 2): {"id_number": ["应为18位"]}, ("二组", 3): {None: ["与一组第2行重复"]}}
    wb = _load(write_error_workbook(result.headers, result.rows, errors, columns(), ZH, sheets=result.sheets))
    assert wb.sheetnames == ["一组", "二组"]
    assert wb["一组"]["C2"].value == "工作表“一组”第2行：身份证号：应为18位"
    assert wb["二组"]["A3"].value == "李四" and wb["二组"]["B3"].value == "工作表“二组”第3行：与一组第2行重复"
