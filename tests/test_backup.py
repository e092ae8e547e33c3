"""Backup and restore, round trip on the lane's database (SQLite or PostgreSQL): a backup
holds every table's row count and checksum; what is changed afterwards is undone by the
restore, which checks every table against the backup."""
from __future__ import annotations

import json
import os

from sqlalchemy import func, select, text


def test_backup_and_restore_round_trip(app, no_isolation, tmp_path):
    from app import backup
    from app.extensions import db
    from models.kernel.places import Compound

    runner = app.test_cli_runner()
    folder = tmp_path / "backup"
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Compound))
    result = runner.invoke(args=["backup", "create", "--to", str(folder)])
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.output
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["compound"]["rows"] == before and len(manifest["tables"]) > 80
    assert os.path.exists(folder / ("database.sqlite3" if manifest["kind"] == "sqlite" else "database.dump"))
    # a change after the backup …
    with app.app_context():
        compound = db.session.scalars(select(Compound).order_by(Compound.id)).first()
        old_name, compound_id = compound.name, compound.id
        db.session.execute(text("UPDATE compound SET name = name || '（改）' WHERE id = :id"), {"id": compound_id})
        db.session.execute(text("DELETE FROM login_log"))
        db.session.commit()
        assert backup.table_figures()["compound"] != manifest["tables"]["compound"]
    # … is undone, and every table is checked
    refused = runner.invoke(args=["backup", "restore", str(folder)], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["backup", "restore", str(folder), "--yes"])
    assert result.exit_code == 0, result.output
    assert "行数与校验和均与备份一致" in result.output
    with app.app_context():
        assert db.session.get(Compound, compound_id).name == old_name
        assert backup.table_figures() == manifest["tables"]


def test_a_damaged_backup_is_reported(app, no_isolation, tmp_path):
    runner = app.test_cli_runner()
    folder = tmp_path / "backup"
    assert runner.invoke(args=["backup", "create", "--to", str(folder)]).exit_code == 0
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tables"]["compound"]["rows"] += 1  # the backup no longer matches its manifest
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    result = runner.invoke(args=["backup", "restore", str(folder), "--yes"])
    assert result.exit_code != 0 and "恢复失败" in result.output and "compound" in result.output
    assert runner.invoke(args=["backup", "create", "--to", str(folder)]).exit_code != 0  # never overwritten
