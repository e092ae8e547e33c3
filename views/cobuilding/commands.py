"""``flask cobuilding sweep``: co-building's timed rule from the command line (cron),
registered with the engine (app.cli.register_command)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app import cli
from models.cobuilding import meetings, pledges

cobuilding = cli.register_command(AppGroup("cobuilding", help="Co-building: pledge projects and funds."))


@cobuilding.command("sweep")
def cobuilding_sweep():
    """Pledge projects and meeting decisions past their due date and not done become 逾期
    (run daily, cron)."""
    click.echo(f"新逾期共建项目 {pledges.sweep()} 个；新逾期会议决议 {meetings.sweep()} 项")
