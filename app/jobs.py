"""Running an import in the background.

The import itself is one transaction (app/importer.py): a job killed half-way leaves
no rows. While it runs, its progress is a small file under ``instance/jobs/`` that any
worker process can read (writing progress to the database would touch the database the
import is reading, and on SQLite spoil its read snapshot); the outcome is written to
the job's row once the import's transaction is over.
"""
from __future__ import annotations

import json
import logging
import os
import threading

from flask import Flask, current_app
from flask_babel import gettext
from sqlalchemy import update

from app import importer, scope
from app.extensions import db
from models import jobs as J

log = logging.getLogger(__name__)


def _progress_path(job_id: int) -> str:
    folder = os.path.join(current_app.instance_path, "jobs")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"import-{job_id}.json")


def _progress(job_id: int, **values) -> None:
    """Progress of a running job, atomically replaced (readers never see half a file)."""
    path = _progress_path(job_id)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(values, fh)
    os.replace(tmp, path)


#: a job that has reported nothing for this long died with its process
STALE_SECONDS = 600


def progress_of(job) -> dict:
    """What a running job last reported (empty when finished or not started). A job
    silent for :data:`STALE_SECONDS` (its worker was restarted or killed) is marked failed:
    its transaction died with it, nothing was written."""
    import time

    if job.status in (J.DONE, J.FAILED):
        return {}
    path = _progress_path(job.id)
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        last = os.path.getmtime(path)
    except (OSError, ValueError):
        report, last = {}, job.created_at.timestamp()
    if time.time() - last > STALE_SECONDS:
        _set(job.id, status=J.FAILED, finished_at=J.now(), message=gettext(
            "The import stopped before it finished (the server was restarted). Nothing was imported; "
            "please import the file again."))
        db.session.expire(job)
        return {}
    return report


def _set(job_id: int, **values) -> None:
    """The outcome of a job, through a connection of its own; a job run inside the
    request (IMPORT_IN_BACKGROUND off) uses the request's session."""
    statement = update(J.ImportJob).where(J.ImportJob.id == job_id).values(**values)
    if not current_app.config.get("IMPORT_IN_BACKGROUND", True):
        db.session.execute(statement)
        db.session.commit()
        return
    with db.engine.connect() as conn:
        conn.execute(statement)
        conn.commit()


def start_import(model, data: bytes, filename: str, user, update_existing: bool) -> J.ImportJob:
    job = J.ImportJob(entity=model.__name__, filename=filename[:200], user_id=user.id,
                      update_existing=update_existing)
    db.session.add(job)
    db.session.commit()
    app = current_app._get_current_object()
    if app.config.get("IMPORT_IN_BACKGROUND", True):
        threading.Thread(target=run_job, args=(app, job.id, data), daemon=True,
                         name=f"import-{job.id}").start()
    else:
        _run(app, job.id, data)
    return job


def run_job(app: Flask, job_id: int, data: bytes) -> None:
    """The body of the background thread."""
    with app.app_context():
        _run(app, job_id, data)


def _run(app: Flask, job_id: int, data: bytes) -> None:
    from app.registry import entities
    from models.users import AppUser

    job = db.session.get(J.ImportJob, job_id)
    model = next(m for m in entities() if m.__name__ == job.entity)
    user = db.session.get(AppUser, job.user_id) if job.user_id else None
    update_existing = bool(job.update_existing)
    if app.config.get("IMPORT_IN_BACKGROUND", True):
        db.session.commit()  # end the read: the progress connection may write now
    background = app.config.get("IMPORT_IN_BACKGROUND", True)

    def progress(phase, done, total):
        if background:  # in the request itself nobody could watch
            _progress(job_id, status=phase, done=done, total=total)

    def on_writing():
        if background:
            _progress(job_id, status=J.WRITING, done=0, total=0)

    try:
        with scope.acting_as(user):
            result = importer.run(model, data, update=update_existing, progress=progress,
                                  on_writing=on_writing)
    except Exception:  # never leave a job "running" forever
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        _set(job_id, status=J.FAILED, message=gettext(
            "Something went wrong on the server. Nothing was changed; please try again later."),
            finished_at=J.now())
        return
    finally:
        if app.config.get("IMPORT_IN_BACKGROUND", True):
            db.session.remove()
    if result.ok:
        _set(job_id, status=J.DONE, done=result.total, total=result.total, written=result.written,
             message=gettext("%(written)s rows imported (%(updated)s of them updated).",
                             written=result.written, updated=result.updated), finished_at=J.now())
    else:
        message = "；".join(result.file_errors) or gettext(
            "%(bad)s of %(total)s rows have problems; nothing was imported. "
            "Download the error workbook, correct the marked cells and import the file again.",
            bad=result.bad_rows, total=result.total)
        _set(job_id, status=J.FAILED, message=message, bad_rows=result.bad_rows,
             total=result.total, error_workbook=result.error_workbook, finished_at=J.now())
    try:
        os.remove(_progress_path(job_id))
    except OSError:
        pass
