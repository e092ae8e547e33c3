"""Background import jobs: a job killed with its process is seen as failed within seconds
(its heartbeat stops), and the status answer is consistent (finished and status agree)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from tests.test_import import ROOT, _person_rows, _workbook

#: started in a subprocess: an import job of the file given, run by its background thread
JOB_SCRIPT = """
import sys, threading
from app import create_app
app = create_app()
with app.app_context():
    from app import jobs
    from models.people.people import Person
    user = app.appbuilder.sm.find_user(username="worker")
    with open(sys.argv[1], "rb") as fh:
        job = jobs.start_import(Person, fh.read(), "big.xlsx", user, False)
    print(job.id, flush=True)
for thread in threading.enumerate():
    if thread.name.startswith("import-") and thread is not threading.current_thread():
        thread.join()
"""


def _status(client, job_id):
    response = client.get(f"/person/import/job/{job_id}/status")
    assert response.status_code == 200, response.status_code
    return response.json


@pytest.mark.usefixtures("no_isolation")
def test_a_killed_job_is_seen_failed_within_the_stale_window(app, as_user, tmp_path):
    from app.jobs import ImportJob
    from models.people.people import Person

    with app.app_context():
        data = _workbook(Person, _person_rows(3000, start=70000, region="420105"))
        before = db.session.scalar(select(func.count()).select_from(Person))
        db.session.remove()
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], PYTHONUNBUFFERED="1",
               APP_ENV="development", JOBS_FOLDER=app.config.get("JOBS_FOLDER", ""))
    process = subprocess.Popen([sys.executable, "-c", JOB_SCRIPT, str(path)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = as_user("worker")
    job_id = None
    try:
        job_id = int(process.stdout.readline())
        deadline = time.monotonic() + 240
        while True:  # wait until the job is under way (checking or writing rows)
            state = _status(client, job_id)
            if state["status"] in ("check", "write") and state["done"] > 0:
                break
            assert not state["finished"], state
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert 20 <= state["percent"] < 100
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        killed_at = time.monotonic()
        stale = app.config.get("IMPORT_STALE_SECONDS", 6)
        while True:  # poll: every answer is consistent, and failed comes within the window
            state = _status(client, job_id)
            assert state["finished"] == (state["status"] in ("done", "failed")), state
            if state["finished"]:
                break
            assert time.monotonic() - killed_at < stale + 30, state
            time.sleep(0.2)
        assert state["status"] == "failed" and state["interrupted"] and state["percent"] == 100, state
        assert "中断" in state["message"] and "未导入任何数据" in state["message"]
        again = _status(client, job_id)  # and stays so
        assert (again["status"], again["finished"], again["message"]) == ("failed", True, state["message"])
        page = client.get(f"/person/import/job/{job_id}").get_data(as_text=True)
        assert "正在写入" not in page and "100%" in page
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        process.stdout.close()
        process.stderr.close()
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Person)) == before
            if job_id is not None:
                db.session.execute(delete(ImportJob).where(ImportJob.id == job_id))
                db.session.commit()
            db.session.remove()


def test_a_running_job_is_not_judged_dead(app, as_user, ctx):
    """A job whose heartbeat is fresh stays running (no false alarm); an old heartbeat
    file without a process behind it is failed, once, with a consistent answer."""
    from app import jobs
    from app import jobs as J
    from tests import factories as f

    job = J.ImportJob(entity="Person", filename="x.xlsx", user_id=f.user("worker").id)
    db.session.add(job)
    db.session.commit()
    path = jobs._progress_path(job.id)
    jobs._write(path, {"status": J.CHECKING, "done": 10, "total": 100})
    state = jobs.status_of(job)
    assert (state["status"], state["finished"], state["percent"]) == ("check", False, 25)
    old = time.time() - app.config["IMPORT_STALE_SECONDS"] - 1
    with open(path, "w", encoding="utf-8") as fh:  # the last beat, long ago
        json.dump({"status": J.CHECKING, "done": 10, "total": 100, "beat": old}, fh)
    state = jobs.status_of(job)
    assert (state["status"], state["finished"], state["interrupted"]) == ("failed", True, True)
    assert db.session.get(J.ImportJob, job.id).status == "failed"
    os.remove(path)
