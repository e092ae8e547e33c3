"""操作日志 (等保 2.0 安全审计): every change of business data is written with the table,
row, action, fields before and after (sensitive values masked), user, IP, time and the
request id (answered in X-Request-ID); a deleted row's last values are kept; every export
says who exported which list, with which filters, how many rows; the logs are kept at
least 180 days (the prune command refuses less)."""
from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import func, select

from app import audit, clock
from app.extensions import db
from app.records import AuditLog, LoginLog
from models.kernel.places import Compound
from tests import factories as f


def last(entity: str, action: str | None = None) -> AuditLog:
    stmt = select(AuditLog).where(AuditLog.entity == entity)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return db.session.scalars(stmt.order_by(AuditLog.id.desc())).first()


def test_a_change_is_logged_with_who_where_and_the_request(as_user, ctx):
    compound = db.session.scalars(select(Compound).where(Compound.community_id == f.community().id)
                                  .order_by(Compound.id)).first()
    secretary = as_user("secretary")
    response = secretary.put(f"/api/v1/compound/{compound.id}", json={"address": "文化路 88 号"},
                             headers={"X-Request-ID": "proxy-req-0001"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "proxy-req-0001"
    entry = last("Compound", "update")
    assert entry.username == "secretary" and entry.ip == "127.0.0.1" and entry.request_id == "proxy-req-0001"
    assert entry.entity_id == str(compound.id)
    before_after = json.loads(entry.changes)["address"]
    assert before_after[1] == "文化路 88 号"
    # a request id of ours when the proxy gives none (or an odd one)
    response = secretary.put(f"/api/v1/compound/{compound.id}", json={"address": "文化路 89 号"},
                             headers={"X-Request-ID": "<script>"})
    ours = response.headers["X-Request-ID"]
    assert len(ours) == 32 and last("Compound", "update").request_id == ours


def test_sensitive_values_are_masked_in_the_log(as_user, ctx):
    from models.people.people import Person

    person = db.session.scalars(select(Person).where(Person.community_id == f.community().id,
                                                     Person.phone.is_not(None)).order_by(Person.id)).first()
    response = as_user("secretary").put(f"/api/v1/person/{person.id}", json={"phone": "13912345678"})
    assert response.status_code == 200, response.json
    entry = last("Person", "update")
    assert "13912345678" not in entry.changes and "139****5678" in entry.changes


def test_a_deleted_row_keeps_its_last_values(as_user, ctx):
    from app import domain
    from models.cobuilding.guides import PolicyGuide

    guide = db.session.scalars(select(PolicyGuide).order_by(PolicyGuide.id)).first()
    title, guide_id = guide.title, guide.id
    domain.delete(guide)
    entry = last("PolicyGuide", "delete")
    assert entry.entity_id == str(guide_id) and json.loads(entry.changes)["title"] == title


def test_every_export_is_logged_with_its_filters_and_rows(as_user, ctx):
    worker = as_user("worker")
    response = worker.get("/compound/export/?_flt_0_type=sanwu")
    assert response.status_code == 200
    entry = last("Compound", "export")
    detail = json.loads(entry.changes)
    assert entry.username == "worker" and detail["rows"] == 28 and not detail["unmasked"]
    assert "三无" in detail["filters"] or "sanwu" in detail["filters"]
    response = worker.get("/demand/export/?q=路灯")
    detail = json.loads(last("Demand", "export").changes)
    assert detail["filters"].endswith("路灯") and detail["rows"] >= 0


def test_no_one_changes_or_removes_the_audit_log(as_user, ctx):
    entry = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).first()
    summary, changes = entry.summary, entry.changes  # as stored before the attempts
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    for username in ("auditor", "secadmin", "sysadmin", "secretary"):
        client = as_user(username)
        for method, url in (("post", f"/audit-log/edit/{entry.id}"), ("post", f"/audit-log/delete/{entry.id}"),
                            ("put", f"/api/v1/audit_log/{entry.id}"), ("delete", f"/api/v1/audit_log/{entry.id}"),
                            ("post", "/api/v1/audit_log/")):
            response = getattr(client, method)(url, json={"summary": "x"}) if "api" in url \
                else getattr(client, method)(url, data={"summary": "x"})
            assert response.status_code in (302, 403, 404, 405), (username, method, url)
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) >= before
    stored = db.session.execute(select(AuditLog.summary, AuditLog.changes).where(AuditLog.id == entry.id)).one()
    assert tuple(stored) == (summary, changes)


def test_the_logs_are_kept_at_least_180_days(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "prune", "--days", "179"])
    assert result.exit_code != 0 and "至少保留 180 天" in result.output
    old = clock.now() - datetime.timedelta(days=400)
    db.session.add(AuditLog(at=old, action="update", entity="Compound", summary="很久以前"))
    db.session.add(LoginLog(at=old, username="worker", result="success", channel="web"))
    recent = clock.now() - datetime.timedelta(days=179)
    db.session.add(AuditLog(at=recent, action="update", entity="Compound", summary="半年内"))
    db.session.commit()
    removed = audit.prune(365)
    assert removed["audit_log"] >= 1 and removed["login_log"] >= 1
    assert not db.session.scalars(select(AuditLog).where(AuditLog.summary == "很久以前")).all()
    assert db.session.scalars(select(AuditLog).where(AuditLog.summary == "半年内")).all()
    assert last("AuditLog", "prune") is not None
    with pytest.raises(ValueError):
        audit.prune(30)
