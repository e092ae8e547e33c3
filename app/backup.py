"""Backup and restore (``flask backup create`` / ``flask backup restore``).

A backup is a folder holding the database — SQLite's online backup (a consistent copy
while the app runs) or PostgreSQL's ``pg_dump`` (custom format) — and ``manifest.json``
with the row count and a checksum of every table. A restore puts the database back
(SQLite: the online backup the other way; PostgreSQL: ``pg_restore --clean``) and then
checks every table against the manifest: the same rows, or it says which table differs.
Uploaded files (``UPLOAD_FOLDER``) are copied beside the database and put back.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess

from flask import current_app
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from app.extensions import db

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    pass


def _engine():
    return db.engine


def _libpq_url(url) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def table_figures() -> dict:
    """{table: {"rows": n, "checksum": sha256 of its rows in key order}} of every table."""
    engine = _engine()
    metadata = MetaData()
    metadata.reflect(bind=engine)
    figures = {}
    with engine.connect() as conn:
        for name in sorted(metadata.tables):
            if name == "alembic_version" or name.startswith("sqlite_"):
                continue
            table = metadata.tables[name]
            keys = list(table.primary_key.columns) or list(table.columns)
            digest, rows = hashlib.sha256(), 0
            for row in conn.execute(select(table).order_by(*keys)).yield_per(2000):
                digest.update(repr(tuple(_plain(v) for v in row)).encode("utf-8"))
                rows += 1
            figures[name] = {"rows": rows, "checksum": digest.hexdigest()}
    return figures


def _plain(value):
    """A value the same whichever way the driver hands it back (Decimal, bytes, dates…)."""
    if isinstance(value, (bytes, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return str(value) if value is not None else None


def create(folder: str) -> dict:
    """Back up the database (and the uploads) into ``folder`` (made; must not exist)."""
    engine = _engine()
    if os.path.exists(folder):
        raise BackupError(f"{folder} exists already")
    os.makedirs(folder)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        import sqlite3

        source = sqlite3.connect(url.database)
        target = sqlite3.connect(os.path.join(folder, "database.sqlite3"))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        kind = "sqlite"
    elif url.get_backend_name() == "postgresql":
        dump = os.path.join(folder, "database.dump")
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", f"--dbname={_libpq_url(url)}"])
        kind = "postgresql"
    else:
        raise BackupError(f"no backup for {url.get_backend_name()}")
    uploads = current_app.config.get("UPLOAD_FOLDER")
    if uploads and os.path.isdir(uploads):
        shutil.copytree(uploads, os.path.join(folder, "uploads"))
    manifest = {"kind": kind, "made_at": datetime.datetime.now().isoformat(timespec="seconds"),
                "tables": table_figures()}
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
    return manifest


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client programs)")
    if done.returncode != 0:
        raise BackupError(done.stderr.strip()[-2000:] or f"{command[0]} failed")


def restore(folder: str) -> dict:
    """Put the backup in ``folder`` back, then check every table against its manifest.
    Returns {"tables": n, "rows": n}; raises BackupError naming the tables that differ."""
    with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
        manifest = json.load(fh)
    engine = _engine()
    url = engine.url
    if manifest["kind"] != url.get_backend_name():
        raise BackupError(f"a {manifest['kind']} backup cannot go into {url.get_backend_name()}")
    db.session.remove()
    engine.dispose()
    if manifest["kind"] == "sqlite":
        import sqlite3

        source = sqlite3.connect(os.path.join(folder, "database.sqlite3"))
        target = sqlite3.connect(url.database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(url)}", os.path.join(folder, "database.dump")])
    engine.dispose()
    uploads = current_app.config.get("UPLOAD_FOLDER")
    if uploads and os.path.isdir(os.path.join(folder, "uploads")):
        shutil.rmtree(uploads, ignore_errors=True)
        shutil.copytree(os.path.join(folder, "uploads"), uploads)
    found = table_figures()
    differ = sorted(name for name in set(manifest["tables"]) | set(found)
                    if manifest["tables"].get(name) != found.get(name))
    if differ:
        raise BackupError("tables that differ from the backup: " + ", ".join(differ))
    return {"tables": len(found), "rows": sum(t["rows"] for t in found.values())}


def default_folder() -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(current_app.instance_path, "backups", stamp)

