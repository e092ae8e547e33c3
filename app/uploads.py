"""Uploaded files: checked by their content, stored under a name we make, served safely.

One place for every upload (a demand's photos, a gift's picture, a bulletin's
attachments), so the rules are the same everywhere:

* the type is what the bytes say (:func:`sniff`), never the user's filename or the
  browser's Content-Type, and only types the caller allows are accepted;
* a file is read up to its limit and no further (:func:`check`);
* the stored name is a random hex name with the extension of the sniffed type
  (:func:`store`), under ``UPLOAD_FOLDER/<kind>/``; the user's filename is kept only as
  a display name, in the database;
* files go out with ``nosniff``, pictures inline, anything else as a download in a
  sandbox (:func:`send`), so an uploaded file never runs as a page of this site.
"""
from __future__ import annotations

import io
import logging
import os
import re
import unicodedata
import uuid
import zipfile
from typing import NamedTuple

from flask import abort, current_app, send_from_directory
from flask_babel import lazy_gettext as _l

from app.domain import DomainError

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
PDF = "application/pdf"

#: pictures: {content type: extension of the stored file}
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
#: attachments: documents and pictures
DOCUMENT_TYPES = {PDF: ".pdf", DOCX: ".docx", XLSX: ".xlsx", PPTX: ".pptx", **IMAGE_TYPES}
#: every type this module knows (what store() and send() accept)
KNOWN_TYPES = {**DOCUMENT_TYPES}

#: the folder of one kind of upload ("gift", "bulletin", "demand")
_KIND = re.compile(r"^[a-z_]+$")
#: a name made by store(): 32 hex digits and a known extension
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z]{3,4}$")
#: the folder inside an Office Open XML package that tells which document it is
_OOXML_PARTS = {DOCX: "word/", XLSX: "xl/", PPTX: "ppt/"}
#: how many entries of a zip are looked at: real documents have a few dozen
_MAX_ZIP_ENTRIES = 2000
MAX_NAME_LENGTH = 200


class Checked(NamedTuple):
    """An accepted upload: the display name, the sniffed type and the bytes."""

    filename: str
    content_type: str
    content: bytes


# ----------------------------------------------------------------------------- sniffing

def _is_jpeg(content: bytes) -> bool:
    return content.startswith(b"\xff\xd8\xff")


def _is_png(content: bytes) -> bool:
    return content.startswith(b"\x89PNG\r\n\x1a\n")


def _is_webp(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def _is_pdf(content: bytes) -> bool:
    return content.startswith(b"%PDF-")


def _ooxml_type(content: bytes) -> str | None:
    """The Office Open XML type of a zip (docx, xlsx, pptx), or None.

    Only the zip's directory is read (no entry is decompressed, so a zip bomb costs
    nothing), and only its first entries; any damage means "not a document"."""
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [info.filename for info in archive.infolist()[:_MAX_ZIP_ENTRIES]]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for content_type, folder in _OOXML_PARTS.items():
        if any(name.startswith(folder) for name in names):
            return content_type
    return None


_SNIFFERS = {"image/jpeg": _is_jpeg, "image/png": _is_png, "image/webp": _is_webp, PDF: _is_pdf}


def sniff(content: bytes, allowed) -> str | None:
    """The content type of ``content`` if it is one of ``allowed`` (an iterable of
    content types, e.g. IMAGE_TYPES), else None. Decided by the bytes alone."""
    allowed = set(allowed)
    for content_type, matches in _SNIFFERS.items():
        if content_type in allowed and matches(content):
            return content_type
    if allowed & set(_OOXML_PARTS):
        found = _ooxml_type(content)
        if found in allowed:
            return found
    return None


# ----------------------------------------------------------------------------- names

def display_name(filename: str | None, default: str = "file") -> str:
    """A filename fit to show and to offer as a download name: no folders (old browsers
    send the whole Windows path), no control or direction-changing characters, at most
    200 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", str(filename or "")).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if not name:
        return default
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = stem[:MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def is_stored_name(name: str | None) -> bool:
    """Whether ``name`` is one store() could have made (nothing else is ever opened)."""
    return bool(name) and _STORED_NAME.match(name) is not None


def _folder(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValueError(f"not an upload kind: {kind!r}")
    return os.path.join(current_app.config["UPLOAD_FOLDER"], kind)


# ----------------------------------------------------------------------------- check, store, send

def read_limited(upload, max_bytes: int) -> bytes | None:
    """The bytes of ``upload`` (a werkzeug FileStorage), or None when it holds more than
    ``max_bytes``: reading stops one byte past the limit."""
    content = upload.read(max_bytes + 1)
    return None if len(content) > max_bytes else content


def megabytes(max_bytes: int) -> str:
    """5242880 → "5", 1572864 → "1.5" (for messages)."""
    return f"{max_bytes / (1024 * 1024):g}"


def check(upload, allowed, max_bytes: int, field: str = "file") -> Checked:
    """An uploaded file checked by size and content: (display name, type, bytes), or
    :class:`DomainError` on ``field``."""
    name = display_name(getattr(upload, "filename", None))
    content = read_limited(upload, max_bytes)
    if content is None:
        raise DomainError(_l("A file is larger than %(mb)s MB: %(name)s", mb=megabytes(max_bytes), name=name),
                          field=field)
    content_type = sniff(content, allowed)
    if content_type is None:
        raise DomainError(_l("Not an allowed file type: %(name)s", name=name), field=field)
    return Checked(name, content_type, content)


def store(kind: str, checked) -> str:
    """Write a checked file under ``UPLOAD_FOLDER/<kind>/`` and return the stored name
    (uuid hex + the extension of its sniffed type). Record it in the same transaction
    as the row that refers to it; on failure, :func:`remove` it."""
    filename, content_type, content = checked
    extension = KNOWN_TYPES.get(content_type)
    if extension is None:
        raise ValueError(f"not a checked content type: {content_type!r}")
    folder = _folder(kind)
    os.makedirs(folder, exist_ok=True)
    stored = uuid.uuid4().hex + extension
    with open(os.path.join(folder, stored), "xb") as fh:  # "x": never over another file
        fh.write(content)
    return stored


def send(kind: str, stored_name: str, download_name: str | None, content_type: str):
    """A response with a stored file (404 for a name store() could not have made, or a
    file that is gone). Pictures are shown inline; any other file is a download, in a
    CSP sandbox should a browser open it anyway. Never sniffed by the browser."""
    if not is_stored_name(stored_name):
        abort(404)
    image = content_type in IMAGE_TYPES
    response = send_from_directory(
        _folder(kind), stored_name, mimetype=content_type if content_type in KNOWN_TYPES
        else "application/octet-stream", as_attachment=not image,
        download_name=display_name(download_name, default=stored_name))
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not image:
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


def remove(kind: str, stored_name: str) -> None:
    """Delete a stored file if it is there (best effort: a file left behind is only
    disk space; a failure is logged, never raised)."""
    if not is_stored_name(stored_name):
        return
    try:
        os.remove(os.path.join(_folder(kind), stored_name))
    except FileNotFoundError:
        pass
    except OSError as error:
        log.warning("could not remove upload %s/%s: %s", kind, stored_name, error)
