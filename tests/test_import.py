"""Excel import and export of the registers: all rows or none, precise errors, round trip."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import excel, importer, scope, standards
from app.extensions import db
from tests import factories as f

ROOT = os.path.dirname(os.path.dirname(__file__))


def _person_rows(count: int, start: int = 0, region: str = "420103"):
    """Rows of new residents (not in the demo): valid IDs, phones, a compound."""
    rows = []
    for i in range(start, start + count):
        born = f"19{50 + i % 40:02d}{1 + i % 12:02d}{1 + i % 28:02d}"
        first17 = f"{region}{born}{i % 1000:03d}"
        rows.append({"name": f"导入居民{i:05d}", "id_number": first17 + standards.id_check_char(first17),
                     "phone": f"139{i:08d}", "ethnicity": "汉族", "political_status": "群众",
                     "residence_type": "流动人口", "compound": "建材宿舍", "employer": "某单位"})
    return rows


def _workbook(model, rows) -> bytes:
    cols = importer.columns(model)
    writer = excel.XlsxWriter(cols, "data")
    for row in rows:
        writer.append([row.get(c.name) for c in cols])
    return writer.save()


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_template_has_headers_dropdowns_and_text_columns(ctx):
    from models.people.people import Person

    book = load_workbook(io.BytesIO(importer.template(Person)))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert ("姓名*" in headers or "Full name*" in headers) and "身份证号" in headers and "居住类型*" in headers
    assert sheet.cell(row=2, column=1).value.startswith("从第3行起")
    id_col = headers.index("身份证号") + 1
    assert sheet.cell(row=3, column=id_col).number_format == "@"
    hidden = [ws for ws in book.worksheets if ws.sheet_state != "visible"]
    assert hidden and any("汉族" in str(c.value) for row in hidden[0].iter_rows() for c in row)
    assert sheet.data_validations.dataValidation


def test_1000_rows_with_3_bad_rows_write_nothing_then_the_fixed_file_imports(ctx):
    from models.people.people import Person

    rows = _person_rows(1000)
    bad = {17: ("id_number", rows[17]["id_number"][:-1] + ("0" if rows[17]["id_number"][-1] != "0" else "1")),
           480: ("phone", "1391234567"),
           999: ("ethnicity", "火星族")}
    for index, (column, value) in bad.items():
        rows[index][column] = value
    before = _count(Person)
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _workbook(Person, rows))
    assert not result.ok and result.written == 0 and _count(Person) == before
    assert sorted(result.errors) == [("data", index + 2) for index in bad]  # Excel rows: the header is row 1
    for index, (column, _value) in bad.items():
        assert list(result.at(index + 2)) == [column], result.at(index + 2)
    sheet = load_workbook(io.BytesIO(result.error_workbook)).worksheets[0]
    headers = [c.value for c in sheet[1]]
    error_col = len(headers)
    flagged = [r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=error_col).value]
    assert len(flagged) == 3
    messages = [sheet.cell(row=r, column=error_col).value for r in flagged]
    assert flagged == [index + 2 for index in bad]  # the upload's own row numbers
    assert messages[0].startswith("第19行：身份证号") and "校验" in messages[0]
    assert messages[1].startswith("第482行：电话") and messages[2].startswith("第1001行：民族")
    # fixed: all 1000
    fixed = _person_rows(1000)
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _workbook(Person, fixed))
    assert result.ok and result.written == 1000 and _count(Person) == before + 1000


def test_real_files_are_tolerated(ctx):
    from models.people.people import Person

    rows = _person_rows(4)
    rows[0]["id_number"] = rows[0]["id_number"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows[1]["id_number"] = rows[1]["id_number"].lower()
    rows[2]["phone"] = " 139 0000 0002 "
    rows[3]["name"] = "　全角　空格　"
    cols = importer.columns(Person)
    writer = excel.XlsxWriter(cols + [excel.Column(name="extra", header="备注2")], "data")
    for row in rows:
        writer.append([row.get(c.name) for c in cols] + ["多余的列"])
    for _ in range(5):
        writer.append([None] * (len(cols) + 1))  # trailing empty rows
    result = importer.run(Person, writer.save())
    assert result.ok, result.errors or result.file_errors
    assert result.written == 4


def test_ids_stored_as_numbers(ctx):
    from openpyxl import Workbook

    from models.people.people import Person

    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in importer.columns(Person)])
    legacy = 420902800101123  # a 15-digit number Excel keeps exactly
    rounded = 420902198001011000  # an 18-digit number Excel rounded
    names = [c.name for c in importer.columns(Person)]
    for name, number in (("数字一", legacy), ("数字二", rounded)):
        row = {"name": name, "id_number": number, "residence_type": "户籍人口", "compound": "建材宿舍"}
        sheet.append([row.get(n) for n in names])
    data = io.BytesIO()
    book.save(data)
    result = importer.run(Person, data.getvalue())
    assert [number for _sheet, number in result.errors] == [3]
    assert "Excel" in result.at(3)["id_number"][0] or "文本" in result.at(3)["id_number"][0]


def test_not_an_xlsx_or_wrong_headers(ctx):
    from openpyxl import Workbook

    from models.people.people import Person

    result = importer.run(Person, b"name,id\n1,2\n")
    assert result.file_errors and "xlsx" in result.file_errors[0]
    book = Workbook()
    book.active.append(["姓名", "随便"])
    book.active.append(["张三", "x"])
    data = io.BytesIO()
    book.save(data)
    result = importer.run(Person, data.getvalue())
    assert result.file_errors and "居住类型" in result.file_errors[0]


def test_update_existing_rows_by_id_number(ctx):
    from models.people.people import Person

    person = db.session.scalars(select(Person).where(Person.id_number.is_not(None)).order_by(Person.id)).first()
    cols = importer.columns(Person)
    row = {"name": person.name, "id_number": person.id_number, "residence_type": "常住人口",
           "employer": "更新后的单位", "household": str(person.household), "relation": "户主"
           if person.relation == "02" else None}
    data = _workbook(Person, [row])
    refused = importer.run(Person, data)
    assert not refused.ok and "id_number" in refused.at(2)
    result = importer.run(Person, data, update=True)
    assert result.ok and result.updated == 1, (result.errors, result.file_errors)
    db.session.expire_all()
    assert db.session.get(Person, person.id).employer == "更新后的单位"
    del cols


def test_references_are_scoped(ctx):
    from models.people.people import Person

    rows = _person_rows(1)
    rows[0]["compound"] = "槐荫新村"  # 槐荫社区: outside the worker's scope
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _workbook(Person, rows))
    assert list(result.at(2)) == ["compound"]


def _sheets(model, sheets: dict, *, template: bool = False) -> bytes:
    """A workbook of several sheets, each with the template's header row (and, with
    ``template``, the template itself: its instructions row 2, data from row 3)."""
    from openpyxl import Workbook

    cols = importer.columns(model)
    book = load_workbook(io.BytesIO(importer.template(model))) if template else Workbook()
    if not template:
        book.remove(book.active)
    for n, (title, rows) in enumerate(sheets.items()):
        if template and n == 0:
            sheet = book.worksheets[0]
            sheet.title = title
            start = 3
        else:
            sheet = book.create_sheet(title, n)
            start = 1
            if rows and isinstance(rows[0], dict):
                sheet.append([c.header for c in cols])
                start = 2
        for r, row in enumerate(rows or [], start):
            for c, column in enumerate(cols, 1):
                value = row.get(column.name) if isinstance(row, dict) else None
                if value is not None:
                    sheet.cell(row=r, column=c, value=value).data_type = "s"
            if not isinstance(row, dict):      # a plain list of values: a row without the header
                for c, value in enumerate(row, 1):
                    sheet.cell(row=r, column=c, value=value)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_every_sheet_with_the_header_is_imported(ctx):
    """Issue 16, D6: the second sheet's rows were ignored without a word."""
    from models.people.people import Person

    rows = _person_rows(5, start=81000)
    before = _count(Person)
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _sheets(Person, {"一组": rows[:3], "二组": rows[3:]}))
    assert result.ok and result.written == 5, (result.errors, result.file_errors)
    assert _count(Person) == before + 5
    assert _count(Person, Person.name == rows[4]["name"]) == 1


def test_an_error_on_the_second_sheet_names_sheet_and_row_and_writes_nothing(ctx):
    from models.people.people import Person

    rows = _person_rows(5, start=82000)
    rows[4]["phone"] = "12"
    before = _count(Person)
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _sheets(Person, {"一组": rows[:3], "二组": rows[3:]}))
    assert not result.ok and result.written == 0 and _count(Person) == before
    assert list(result.errors) == [("二组", 3)] and list(result.at(3, "二组")) == ["phone"]
    assert result.messages(Person)[0].startswith("工作表“二组”第3行：电话：")
    book = load_workbook(io.BytesIO(result.error_workbook))
    assert book.sheetnames == ["一组", "二组"]
    sheet = book["二组"]
    error_col = max(c.column for c in sheet[1] if c.value)
    assert sheet.cell(row=3, column=1).value == rows[4]["name"]
    assert sheet.cell(row=3, column=error_col).value.startswith("工作表“二组”第3行：电话")
    assert [sheet.cell(row=r, column=error_col).value for r in (2,)] == [None]


def test_rows_on_a_sheet_without_the_header_refuse_the_file_naming_the_sheet(ctx):
    from models.people.people import Person

    rows = _person_rows(3, start=83000)
    before = _count(Person)
    other = [[r["name"], r["id_number"]] for r in _person_rows(2, start=83100)]
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _sheets(Person, {"数据": rows, "补录": other}))
    assert not result.ok and result.written == 0 and _count(Person) == before
    assert len(result.file_errors) == 1 and "“补录”" in result.file_errors[0], result.file_errors
    with scope.acting_as(f.user("worker")):  # data behind a cover sheet: the header is found
        result = importer.run(Person, _sheets(Person, {"封面": [["2024年流动人口登记"]], "数据": rows}))
    assert not result.ok and "“封面”" in result.file_errors[0]
    with scope.acting_as(f.user("worker")):  # no header anywhere: the sheets looked at are named
        result = importer.run(Person, _sheets(Person, {"封面": [["2024年流动人口登记"]], "名单": other}))
    assert "未找到表头行" in result.file_errors[0]
    assert "“封面”" in result.file_errors[0] and "“名单”" in result.file_errors[0]
    assert _count(Person) == before


def test_formula_cells_without_values_are_refused_naming_the_cells(ctx):
    from models.people.people import Person

    rows = _person_rows(3, start=84000)
    book = load_workbook(io.BytesIO(_workbook(Person, rows)))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=headers.index("电话") + 1, value="=C2")  # written by a script: no value
    data = io.BytesIO()
    book.save(data)
    before = _count(Person)
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, data.getvalue())
    column = chr(ord("A") + headers.index("电话"))
    assert not result.ok and _count(Person) == before
    assert f"{column}3" in result.file_errors[0] and "公式" in result.file_errors[0], result.file_errors


def test_error_workbook_rows_are_the_uploaded_files_own(ctx):
    """A filled-in template (instructions in row 2): the error row is where the user put it."""
    from models.people.people import Person

    rows = _person_rows(3, start=85000)
    rows[1]["ethnicity"] = "火星族"   # in row 4 of the file
    with scope.acting_as(f.user("worker")):
        result = importer.run(Person, _sheets(Person, {"数据": rows}, template=True))
    assert list(result.errors) == [("数据", 4)]
    sheet = load_workbook(io.BytesIO(result.error_workbook))["数据"]
    error_col = max(c.column for c in sheet[1] if c.value)
    assert sheet.cell(row=4, column=1).value == rows[1]["name"]
    assert sheet.cell(row=4, column=error_col).value.startswith("第4行：民族")
    assert sheet.cell(row=2, column=1).value.startswith("从第3行起")  # the instructions row kept
    assert sheet.cell(row=3, column=error_col).value is None


def test_import_through_the_ui_shows_progress_and_errors(app, as_user, ctx):
    from models.people.people import Person

    rows = _person_rows(30)
    rows[5]["phone"] = "12"
    client = as_user("worker")
    app.config["IMPORT_IN_BACKGROUND"] = False
    try:
        page = client.get("/person/import/")
        assert page.status_code == 200 and "下载导入模板" in page.get_data(as_text=True)
        assert client.get("/person/import/template").status_code == 200
        response = client.post("/person/import/", data={"file": (io.BytesIO(_workbook(Person, rows)), "居民.xlsx")},
                               content_type="multipart/form-data")
        assert response.status_code == 302
        job_url = response.headers["Location"]
        status = client.get(job_url.rstrip("/") + "/status").json
        assert status["status"] == "failed" and status["bad_rows"] == 1 and status["errors"]
        errors = client.get(job_url.rstrip("/") + "/errors")
        assert errors.status_code == 200 and errors.data[:2] == b"PK"
        assert as_user("grid1").get(job_url).status_code in (403, 404)  # someone else's job
        bad = client.post("/person/import/", data={"file": (io.BytesIO(b"x"), "a.csv")},
                          content_type="multipart/form-data", follow_redirects=True)
        assert "xlsx" in bad.get_data(as_text=True)
    finally:
        app.config["IMPORT_IN_BACKGROUND"] = True
    assert as_user("leader").get("/person/import/").status_code == 403


def test_export_neutralises_formulas(as_user, ctx):
    from app import domain
    from models.people.people import Person

    domain.save(Person(name="=HYPERLINK(\"http://x\")", residence_type="registered", community=f.community(),
                       employer="+1+1", notes="@SUM(A1)"))
    data = as_user("worker").get("/person/export/?q=HYPERLINK").data
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row if c.value]
    assert values and all(not str(v).startswith(("=", "+", "@")) for v in values)


def test_round_trip_into_an_empty_database(app, as_user, ctx, tmp_path):
    """Households and residents of a compound, exported (revealed) and imported into a
    database that has the places but no people, give the same rows."""
    from models.people.people import Household, Person
    from tests.conftest import make_app

    client = as_user("worker")
    compound_id = db.session.scalar(select(Household.compound_id).where(Household.compound.has(name="建材宿舍"))
                                    .limit(1))
    households = client.get(f"/household/export/?reveal=1&_flt_0_compound={compound_id}").data
    persons = client.get(f"/person/export/?reveal=1&_flt_0_compound={compound_id}").data

    def fields(p):
        return (p.name, p.id_number, p.sex, p.birth_date, p.phone, p.ethnicity, p.political_status,
                p.residence_type, p.relation, str(p.household) if p.household else None, p.employer)

    source = sorted(fields(p) for p in db.session.scalars(select(Person).join(Person.compound)
                                                          .where(Person.compound.has(name="建材宿舍"))))
    assert len(source) > 50
    empty = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    with empty.app_context():
        from flask_migrate import upgrade

        from app import policy
        from app.extensions import MIGRATIONS_DIR
        from seed import base, demo

        upgrade(directory=MIGRATIONS_DIR)
        base.load()
        policy.sync(empty.appbuilder, echo=lambda *_: None)
        demo.load(people=False)
        assert _count(Person) == 0
        result = importer.run(Household, households)
        assert result.ok, (result.errors, result.file_errors)
        result = importer.run(Person, persons)
        assert result.ok, (dict(list(result.errors.items())[:3]), result.file_errors)
        target = sorted(fields(p) for p in db.session.scalars(select(Person)))
        db.session.remove()
    assert target == source


@pytest.mark.usefixtures("no_isolation")
def test_an_import_killed_midway_leaves_nothing(app, tmp_path):
    """SIGKILL while the rows are being written: the transaction dies with the process."""
    from models.people.people import Person

    with app.app_context():
        data = _workbook(Person, _person_rows(4000, start=50000, region="420104"))
        before = _count(Person)
        db.session.remove()
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], FLASK_APP="run.py",
               PYTHONUNBUFFERED="1", APP_ENV="development")
    process = subprocess.Popen([sys.executable, "-m", "flask", "import", "person", str(path)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.time() + 240
    try:
        for line in process.stdout:
            seen.append(line.strip())
            if line.startswith("写入 ") and not line.startswith("写入 0/"):
                process.send_signal(signal.SIGKILL)
                break
            assert time.time() < deadline, seen[-5:]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
    assert process.returncode == -signal.SIGKILL, seen[-10:]
    assert any(line.startswith("写入 ") for line in seen)
    with app.app_context():
        assert _count(Person) == before
        db.session.remove()
