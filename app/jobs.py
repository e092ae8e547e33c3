"""Running an import in the background.

The import itself is one transaction (app/importer.py): a job killed half-way leaves
no rows. While it runs, its progress is a small file in ``JOBS_FOLDER`` that any worker
process can read (writing progress to the database would touch the database the import
is reading, and on SQLite wait behind the import's own write lock); the outcome is
written to the job's row once the import's transaction is over.

A running job proves it is alive: a heartbeat thread rewrites its progress file every
``IMPORT_HEARTBEAT_SECONDS``. A job whose file is older than ``IMPORT_STALE_SECONDS``
died with its process (kill -9, a restarted worker): :func:`status_of` — the one place
that says how a job stands — marks it failed, so the page stops within seconds.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import time
from typing import Optional

from flask import Flask, current_app
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from app import importer, scope
from app.base import Model, now
from app.extensions import begin_writing, db
from app.registry import entities

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- the job's row
# (its progress survives the request that started it and is read by any worker process)

PENDING, READING, CHECKING, WRITING, DONE, FAILED = "pending", "read", "check", "write", "done", "failed"
PHASES = {PENDING: _l("Waiting"), READING: _l("Reading the file"), CHECKING: _l("Checking the rows"),
          WRITING: _l("Writing"), DONE: _l("Done"), FAILED: _l("Not imported")}


class ImportJob(Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(60))
    filename: Mapped[Optional[str]] = mapped_column(String(200))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    update_existing: Mapped[Optional[bool]] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    bad_rows: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[Optional[str]] = mapped_column(Text)
    error_workbook: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
    finished_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)

    @property
    def percent(self) -> int:
        return percent_of(self.status, self.done, self.total)


def percent_of(status: str, done: int, total: int) -> int:
    """How far a job is: reading is the first 20 %, checking up to 70 %, writing the rest."""
    weights = {PENDING: (0, 0), READING: (0, 20), CHECKING: (20, 70), WRITING: (70, 100)}
    if status in (DONE, FAILED):
        return 100
    low, high = weights.get(status, (0, 0))
    return low + int((high - low) * (done / total)) if total else low


def _folder(app: Flask | None = None) -> str:
    app = app or current_app
    folder = app.config.get("JOBS_FOLDER") or os.path.join(app.instance_path, "jobs")
    os.makedirs(folder, exist_ok=True)
    return folder


def _progress_path(job_id: int, app: Flask | None = None) -> str:
    return os.path.join(_folder(app), f"import-{job_id}.json")


def _write(path: str, values: dict) -> None:
    """Progress of a running job with the time of its heartbeat, atomically replaced
    (readers never see half a file)."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(dict(values, beat=time.time()), fh)
    os.replace(tmp, path)


class _Heartbeat:
    """The progress file of a running job, rewritten every ``interval`` seconds by a
    thread of its own (so a long check or a long write still shows the job alive)."""

    def __init__(self, path: str, interval: float):
        self.path, self.interval = path, interval
        self.values = {"status": PENDING, "done": 0, "total": 0}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="import-heartbeat")

    def start(self) -> "_Heartbeat":
        self.report(**self.values)
        self._thread.start()
        return self

    def report(self, **values) -> None:
        with self._lock:
            self.values = values
            _write(self.path, values)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self._lock:
                    if not self._stop.is_set():
                        _write(self.path, self.values)
            except OSError:  # a full disk must not kill the import; the job just looks stale
                log.exception("heartbeat of %s failed", self.path)

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
        self._thread.join()
        try:
            os.remove(self.path)
        except OSError:
            pass


def _read(job_id: int) -> dict | None:
    """The running job's last report, with ``beat`` (epoch seconds), or None."""
    path = _progress_path(job_id)
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        report.setdefault("beat", os.path.getmtime(path))
        return report
    except (OSError, ValueError):
        return None


def _stale_after() -> float:
    return float(current_app.config.get("IMPORT_STALE_SECONDS", 6))


def status_of(job) -> dict:
    """How ``job`` stands, the single answer every page and the status JSON give:
    {status, done, total, percent, message, finished, interrupted}. A job that is not
    finished and whose heartbeat is older than ``IMPORT_STALE_SECONDS`` died with its
    process: it is marked failed here (its transaction died with it, nothing was
    written), and the answer says so at once."""
    if job.status not in (DONE, FAILED):
        report = _read(job.id)
        if report is not None:
            last = float(report["beat"])
        else:  # no file yet (or any more): judged from the job's creation
            last = time.time() - max(0.0, (now() - job.created_at).total_seconds())
        if time.time() - last <= _stale_after():
            status = report.get("status", job.status) if report else job.status
            done = int(report.get("done", 0)) if report else job.done
            total = int(report.get("total", 0)) if report else job.total
            return dict(status=status, done=done, total=total, percent=percent_of(status, done, total),
                        message="", finished=False, interrupted=False)
        _interrupt(job.id)
        db.session.refresh(job)  # the row's answer (the job may have finished meanwhile)
    finished = job.status in (DONE, FAILED)
    return dict(status=job.status, done=job.done, total=job.total,
                percent=percent_of(job.status, job.done, job.total), message=job.message or "",
                finished=finished, interrupted=job.status == FAILED and job.message == _interrupted())


def _interrupted() -> str:
    return gettext("The import was interrupted: the server process running it stopped. Nothing was "
                   "imported; please import the file again.")


def _interrupt(job_id: int) -> None:
    """Mark a dead job failed, unless it finished in the meantime (a conditional update:
    its own outcome always wins)."""
    begin_writing()  # a status GET that writes (SQLite: take the write lock first)
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id,
                                                 ImportJob.status.not_in((DONE, FAILED)))
                       .values(status=FAILED, finished_at=now(), message=_interrupted()))
    db.session.commit()
    log.warning("import job %s stopped sending its heartbeat: marked failed", job_id)


def _set(job_id: int, **values) -> None:
    """The outcome of a job, through a connection of its own; a job run inside the
    request (IMPORT_IN_BACKGROUND off) uses the request's session."""
    statement = update(ImportJob).where(ImportJob.id == job_id).values(**values)
    if not current_app.config.get("IMPORT_IN_BACKGROUND", True):
        db.session.execute(statement)
        db.session.commit()
        return
    with db.engine.connect() as conn:
        conn.execute(statement)
        conn.commit()


def start_import(model, data: bytes, filename: str, user, update_existing: bool) -> ImportJob:
    job = ImportJob(entity=model.__name__, filename=filename[:200], user_id=user.id,
                      update_existing=update_existing)
    db.session.add(job)
    db.session.flush()
    app = current_app._get_current_object()
    background = app.config.get("IMPORT_IN_BACKGROUND", True)
    if background:  # alive from the start: a status asked before the thread runs sees it
        _write(_progress_path(job.id), {"status": PENDING, "done": 0, "total": 0})
    db.session.commit()
    if background:
        threading.Thread(target=run_job, args=(app, job.id, data), daemon=True,
                         name=f"import-{job.id}").start()
    else:
        _run(app, job.id, data)
    return job


def run_job(app: Flask, job_id: int, data: bytes) -> None:
    """The body of the background thread: the import, with its heartbeat beating until
    the outcome is on the job's row."""
    with app.app_context():
        beat = _Heartbeat(_progress_path(job_id, app),
                          float(app.config.get("IMPORT_HEARTBEAT_SECONDS", 2))).start()
        try:
            _run(app, job_id, data, beat.report)
        finally:
            beat.stop()


def _run(app: Flask, job_id: int, data: bytes, report=None) -> None:
    job = db.session.get(ImportJob, job_id)
    model = next(m for m in entities() if m.__name__ == job.entity)
    user = db.session.get(app.appbuilder.sm.user_model, job.user_id) if job.user_id else None
    update_existing = bool(job.update_existing)
    background = app.config.get("IMPORT_IN_BACKGROUND", True)
    if background:
        db.session.commit()  # end the read: the outcome's connection may write later

    def progress(phase, done, total):
        if report is not None:  # in the request itself nobody could watch
            report(status=phase, done=done, total=total)

    def on_writing():
        if report is not None:
            report(status=WRITING, done=0, total=0)

    try:
        begin_writing()  # SQLite: the import's transaction takes the write lock when it begins
        with scope.acting_as(user):
            result = importer.run(model, data, update=update_existing, progress=progress,
                                  on_writing=on_writing)
    except Exception:  # never leave a job "running" forever
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        _set(job_id, status=FAILED, message=gettext(
            "Something went wrong on the server. Nothing was changed; please try again later."),
            finished_at=now())
        return
    finally:
        if background:
            db.session.remove()
    if result.ok:
        _set(job_id, status=DONE, done=result.total, total=result.total, written=result.written,
             message=gettext("%(written)s rows imported (%(updated)s of them updated).",
                             written=result.written, updated=result.updated), finished_at=now())
    else:
        message = "；".join(result.file_errors) or gettext(
            "%(bad)s of %(total)s rows have problems; nothing was imported. "
            "Download the error workbook, correct the marked cells and import the file again.",
            bad=result.bad_rows, total=result.total)
        _set(job_id, status=FAILED, message=message, bad_rows=result.bad_rows,
             total=result.total, error_workbook=result.error_workbook, finished_at=now())
