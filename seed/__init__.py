"""Reference data (base) and the demo of 文化路社区 (demo).

Registered with the engine at start-up (config.DOMAIN): the ``flask seed base|demo``
commands (app.cli) and the demo's documented accounts, which keep their published
password while the app runs with DEMO_MODE (app.passwords).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app import cli, passwords, policy
from seed import base, demo

seed = cli.register_command(AppGroup("seed", help="Load reference data and the demo."))
passwords.register_demo_accounts(row["username"] for row in demo.ACCOUNTS)


@seed.command("base")
def seed_base():
    """Reference data every installation needs (字典), then roles sync. Idempotent."""
    added = base.load()
    policy.sync(current_app.appbuilder, echo=lambda *_: None)
    click.echo(f"base data: {added} dictionary items added; roles in sync")


@seed.command("demo")
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The seed date (default today): the demands cover the three months up to it.")
def seed_demo(on):
    """The demo of 文化路社区 (synthetic names). Idempotent: a second run adds nothing."""
    base.load()
    policy.sync(current_app.appbuilder, echo=lambda *_: None)
    counts = demo.load(today=on.date() if on else None)
    click.echo("demo: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))
    for row in demo.ACCOUNTS:
        click.echo(f"  {row['role']:<10} {row['username']:<12} {demo.PASSWORD}")
