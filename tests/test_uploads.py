"""Uploaded files (app.uploads): the type is what the bytes say, sizes are capped, stored
names are ours, and files go out in a way a browser never runs."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound

from app import uploads
from app.domain import DomainError
from app.uploads import DOCUMENT_TYPES, DOCX, IMAGE_TYPES, PDF, PPTX, XLSX


# ----------------------------------------------------------------------------- sample files

def png_bytes() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode."


def zip_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def office(folder: str) -> bytes:
    """A minimal Office Open XML package: [Content_Types].xml, _rels and one part."""
    main = {"word/": "word/document.xml", "xl/": "xl/workbook.xml", "ppt/": "ppt/presentation.xml"}[folder]
    return zip_bytes("[Content_Types].xml", "_rels/.rels", main)


def upload(content: bytes, filename: str = "file.bin") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=filename)


@pytest.fixture
def folder(app, tmp_path, monkeypatch):
    """Stored files go to a temporary folder, not the instance folder."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    return tmp_path


# ----------------------------------------------------------------------------- sniffing

@pytest.mark.parametrize("content, expected", [
    (png_bytes(), "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
])
def test_pictures_are_known_by_their_bytes(content, expected):
    assert uploads.sniff(content, IMAGE_TYPES) == expected
    assert uploads.sniff(content, DOCUMENT_TYPES) == expected  # pictures may be attachments


@pytest.mark.parametrize("content, expected", [
    (PDF_BYTES, PDF), (office("word/"), DOCX), (office("xl/"), XLSX), (office("ppt/"), PPTX),
])
def test_documents_are_known_by_their_bytes(content, expected):
    assert uploads.sniff(content, DOCUMENT_TYPES) == expected
    assert uploads.sniff(content, IMAGE_TYPES) is None  # a document is not a picture
    assert uploads.sniff(content, {expected}) == expected


@pytest.mark.parametrize("content", [
    b"this is text, named .png",                                  # a text file renamed
    EXE,                                                          # a renamed program
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00",                        # a type not allowed
    zip_bytes("readme.txt", "data/a.csv"),                        # a zip that is no document
    zip_bytes("word/document.xml"),                               # no [Content_Types].xml
    zip_bytes("[Content_Types].xml", "docProps/app.xml"),         # a package of no known kind
    b"PK\x03\x04" + b"\x00" * 100,                                # a damaged zip
    b"%PDF",                                                      # too short to be a PDF
    b"",
])
def test_fakes_are_refused(content):
    assert uploads.sniff(content, DOCUMENT_TYPES) is None


def test_only_the_allowed_types_are_recognised():
    assert uploads.sniff(office("word/"), {XLSX, PPTX}) is None
    assert uploads.sniff(PDF_BYTES, {DOCX}) is None
    assert uploads.sniff(png_bytes(), {"image/jpeg"}) is None


# ----------------------------------------------------------------------------- check

def test_check_gives_the_display_name_the_sniffed_type_and_the_bytes(ctx):
    checked = uploads.check(upload(PDF_BYTES, "会议纪要.pdf"), DOCUMENT_TYPES, 1024)
    assert checked == ("会议纪要.pdf", PDF, PDF_BYTES)
    assert (checked.filename, checked.content_type, checked.content) == tuple(checked)
    # the type comes from the bytes: a PNG named .pdf is a PNG
    assert uploads.check(upload(png_bytes(), "scan.pdf"), DOCUMENT_TYPES, 1024).content_type == "image/png"


def test_check_refuses_a_fake_by_its_content(ctx):
    with pytest.raises(DomainError) as refused:
        uploads.check(upload(b"just text", "photo.png"), IMAGE_TYPES, 1024, field="picture")
    assert refused.value.field == "picture"
    assert "photo.png" in str(refused.value.message)
    with pytest.raises(DomainError):
        uploads.check(upload(EXE, "通知.docx"), DOCUMENT_TYPES, 1024)


def test_check_refuses_a_file_over_the_limit_reading_no_further(ctx):
    stream = io.BytesIO(PDF_BYTES + b"x" * 5000)
    with pytest.raises(DomainError) as refused:
        uploads.check(FileStorage(stream=stream, filename="big.pdf"), DOCUMENT_TYPES, 100, field="attachment")
    assert refused.value.field == "attachment" and "big.pdf" in str(refused.value.message)
    assert stream.tell() == 101  # one byte past the limit, no more
    # exactly at the limit is fine
    assert uploads.check(upload(PDF_BYTES, "a.pdf"), DOCUMENT_TYPES, len(PDF_BYTES)).content == PDF_BYTES


def test_the_size_in_the_message_reads_as_megabytes(ctx):
    assert uploads.megabytes(5 * 1024 * 1024) == "5" and uploads.megabytes(1536 * 1024) == "1.5"
    with pytest.raises(DomainError) as refused:
        uploads.check(upload(b"x" * (2 * 1024 * 1024 + 1), "大.pdf"), DOCUMENT_TYPES, 2 * 1024 * 1024)
    assert "2 MB" in str(refused.value.message) and "大.pdf" in str(refused.value.message)


@pytest.mark.parametrize("given, shown", [
    ("C:\\Users\\王\\Desktop\\通知.pdf", "通知.pdf"),
    ("../../etc/passwd", "passwd"),
    ("/var/www/a.png", "a.png"),
    ("\u202egpj.exe", "gpj.exe"),            # no direction override to disguise a name
    ("a\x00b\r\n.pdf", "ab.pdf"),
    ("..", "file"), ("", "file"), (None, "file"),
])
def test_display_names_keep_no_folders_or_control_characters(given, shown):
    assert uploads.display_name(given) == shown


def test_long_display_names_keep_their_extension():
    name = uploads.display_name("长" * 300 + ".docx")
    assert len(name) == 200 and name.endswith("长.docx")
    assert len(uploads.display_name("x" * 300)) == 200


# ----------------------------------------------------------------------------- store, send, remove

def test_store_writes_under_the_kind_with_a_name_of_ours(ctx, folder):
    stored = uploads.store("bulletin", uploads.check(upload(PDF_BYTES, "../../evil.sh"), DOCUMENT_TYPES, 1024))
    assert uploads.is_stored_name(stored) and stored.endswith(".pdf")
    assert (folder / "bulletin" / stored).read_bytes() == PDF_BYTES
    assert [p.name for p in folder.rglob("*") if p.is_file()] == [stored]
    docx = uploads.store("bulletin", uploads.check(upload(office("word/"), "x.exe"), DOCUMENT_TYPES, 4096))
    assert docx.endswith(".docx") and docx != stored


@pytest.mark.parametrize("kind", ["../gift", "gift/..", "Gift", "", "gift.png", "a-b"])
def test_store_refuses_a_kind_that_is_not_a_plain_code(ctx, folder, kind):
    with pytest.raises(ValueError):
        uploads.store(kind, ("a.png", "image/png", png_bytes()))
    assert not list(folder.rglob("*.*"))


def test_store_refuses_an_unchecked_type(ctx, folder):
    with pytest.raises(ValueError):
        uploads.store("gift", ("a.html", "text/html", b"<script>"))


def test_remove_deletes_and_never_fails(ctx, folder):
    stored = uploads.store("gift", ("a.png", "image/png", png_bytes()))
    uploads.remove("gift", stored)
    assert not (folder / "gift" / stored).exists()
    uploads.remove("gift", stored)            # already gone
    uploads.remove("gift", "../../x.png")     # not a name of ours: nothing happens
    (folder / "keep.png").write_bytes(b"x")
    uploads.remove("gift", "../keep.png")
    assert (folder / "keep.png").exists()


def _body(response) -> bytes:
    response.direct_passthrough = False
    return response.get_data()


def test_send_shows_pictures_inline_never_sniffed(app, ctx, folder):
    stored = uploads.store("gift", ("奖品.png", "image/png", png_bytes()))
    with app.test_request_context():
        response = uploads.send("gift", stored, "奖品.png", "image/png")
        assert response.status_code == 200 and _body(response) == png_bytes()
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert "Content-Security-Policy" not in response.headers


def test_send_gives_documents_as_downloads_with_their_chinese_name(app, ctx, folder):
    stored = uploads.store("bulletin", ("关于开展文明创建的通知.pdf", PDF, PDF_BYTES))
    with app.test_request_context():
        response = uploads.send("bulletin", stored, "关于开展文明创建的通知.pdf", PDF)
        assert _body(response) == PDF_BYTES
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        # RFC 5987: the UTF-8 name, percent-encoded, beside an ASCII fallback
        assert "filename*=UTF-8''%E5%85%B3%E4%BA%8E" in disposition and disposition.endswith(".pdf")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "sandbox"
        assert response.headers["Content-Type"] == PDF
        # a name that is only folders falls back to the stored name
        assert stored in uploads.send("bulletin", stored, "../", PDF).headers["Content-Disposition"]


def test_send_answers_404_for_names_that_are_not_ours_or_gone(app, ctx, folder):
    (folder / "secret.txt").write_text("secret")
    (folder / "gift").mkdir()
    with app.test_request_context():
        for name in ("../secret.txt", "..%2Fsecret.txt", "/etc/passwd", "secret.txt", "a" * 32 + ".png/../../x",
                     "A" * 32 + ".png", "a" * 31 + ".png", "a" * 32 + ".PNG", "a" * 32 + ".png\x00", "", None):
            with pytest.raises(NotFound):
                uploads.send("gift", name, "x.png", "image/png")
        with pytest.raises(NotFound):       # a name of ours whose file is gone
            uploads.send("gift", "b" * 32 + ".png", "x.png", "image/png")


def test_send_never_serves_an_unknown_type_as_itself(app, ctx, folder):
    stored = uploads.store("bulletin", ("a.pdf", PDF, PDF_BYTES))
    with app.test_request_context():
        response = uploads.send("bulletin", stored, "a.html", "text/html")
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == "sandbox"


def test_demand_photos_are_served_through_uploads_with_nosniff(ctx, folder, as_user):
    """The 三单 page's photos take the same way out (views.service.demands → uploads.send)."""
    from sqlalchemy import select

    from app import clock
    from app.extensions import db
    from models.service.demands import Demand, DemandPhoto
    from tests import factories as f

    demand = db.session.scalars(select(Demand).where(Demand.community_id == f.community().id)
                                .order_by(Demand.id)).first()
    stored = uploads.store("demand", ("现场.png", "image/png", png_bytes()))
    photo = DemandPhoto(demand_id=demand.id, stage="intake", filename="现场.png", stored_as=stored,
                        content_type="image/png", size=len(png_bytes()), uploaded_at=clock.now())
    db.session.add(photo)
    db.session.commit()
    response = as_user("leader").get(f"/demand/photo/{photo.id}")
    assert response.status_code == 200 and response.data == png_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
