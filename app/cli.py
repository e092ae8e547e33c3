"""Command-line tools: ``flask roles sync``, ``flask seed base|demo``, ``flask users``."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def register(app: Flask) -> None:
    roles = AppGroup("roles", help="Roles as data: sync the policy table.")
    seed = AppGroup("seed", help="Load reference data and the demo.")

    @roles.command("sync")
    def roles_sync():
        """Create all permissions and make every policy role match the policy table."""
        from app import policy

        policy.sync(current_app.appbuilder, echo=click.echo)
        click.echo("roles in sync")

    @seed.command("base")
    def seed_base():
        """Reference data every installation needs (字典), then roles sync. Idempotent."""
        from app import policy
        from seed import base

        added = base.load()
        policy.sync(current_app.appbuilder, echo=lambda *_: None)
        click.echo(f"base data: {added} dictionary items added; roles in sync")

    @seed.command("demo")
    def seed_demo():
        """The demo of 文化路社区 (synthetic names). Idempotent: a second run adds nothing."""
        from app import policy
        from seed import base, demo

        base.load()
        policy.sync(current_app.appbuilder, echo=lambda *_: None)
        counts = demo.load()
        click.echo("demo: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))
        for row in demo.ACCOUNTS:
            click.echo(f"  {row['role']:<10} {row['username']:<12} {demo.PASSWORD}")

    app.cli.add_command(roles)
    app.cli.add_command(seed)
