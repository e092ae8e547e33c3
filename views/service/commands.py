"""``flask demands sweep``: the 三单 loop's timed rules from the command line (cron),
registered with the engine (app.cli.register_command)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app import cli
from models.service import sweep as service

demands = cli.register_command(AppGroup("demands", help="The 三单 service loop."))


@demands.command("sweep")
def demands_sweep():
    """Timed rules: orders taken but not started in time go back to the pool; the
    dispatchers are told of newly overdue demands. Run it every few minutes (cron)."""
    done = service.sweep()
    click.echo(f"退回接单大厅 {done['returned']} 件；新超期提醒 {done['overdue']} 件")
