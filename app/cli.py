"""Command-line tools of the engine: ``flask roles sync``, ``flask import``, ``flask audit
prune``, ``flask backup create|restore``.

The domain adds its own commands (``flask seed …``, its timed sweeps) at start-up with
:func:`register_command`: a click command or group, added to every app made afterwards.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import audit as audit_log, backup as backups, importer, policy, scope
from app.registry import entities

#: the domain's commands and groups, in the order registered
_commands: list[click.Command] = []


def register_command(command: click.Command) -> click.Command:
    """Register a command or group of the domain (usable as a decorator on an AppGroup or
    a ``@click.command``); a second one of the same name replaces the first."""
    _commands[:] = [c for c in _commands if c.name != command.name] + [command]
    return command


def register(app: Flask) -> None:
    roles = AppGroup("roles", help="Roles as data: sync the policy table.")

    @roles.command("sync")
    def roles_sync():
        """Create all permissions and make every policy role match the policy table."""
        policy.sync(current_app.appbuilder, echo=click.echo)
        click.echo("roles in sync")

    @app.cli.command("import")
    @click.argument("entity")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--update", is_flag=True, help="Update the rows that exist (matched by the entity's key).")
    @click.option("--user", "username", default=None, help="Import as this user (scope, audit); default: system.")
    def import_command(entity, path, update, username):
        """Import an .xlsx file into ENTITY (its table name, e.g. person): all rows or none."""
        import sys

        model = next((m for m in entities() if entity in (m.__tablename__, m.__name__)), None)
        if model is None or not importer.importable(model):
            raise click.UsageError(f"{entity}: not an importable entity "
                                   f"({', '.join(m.__tablename__ for m in entities() if importer.importable(m))})")
        user = None
        if username:
            user = current_app.appbuilder.sm.find_user(username=username)
            if user is None:
                raise click.UsageError(f"no user {username}")
        names = {"read": "读取", "check": "检查", "write": "写入"}
        last = {"line": None}

        def progress(phase, done, total):
            percent = int(done * 100 / total) if total else 0
            line = f"{names.get(phase, phase)} {done}/{total} {percent}%"
            if line != last["line"]:
                last["line"] = line
                click.echo(line)
                sys.stdout.flush()

        with open(path, "rb") as fh, scope.acting_as(user):
            result = importer.run(model, fh.read(), update=update, progress=progress,
                                  on_writing=lambda: click.echo("开始写入") or sys.stdout.flush())
        if result.ok:
            click.echo(f"导入成功: {result.written} 行 (其中更新 {result.updated} 行)")
            return
        for message in result.file_errors:
            click.echo(message, err=True)
        for line in result.messages(model):
            click.echo(line, err=True)
        if result.error_workbook:
            target = path.rsplit(".", 1)[0] + ".errors.xlsx"
            with open(target, "wb") as out:
                out.write(result.error_workbook)
            click.echo(f"未导入任何数据；错误说明见 {target}", err=True)
        raise SystemExit(1)

    audit = AppGroup("audit", help="The audit and sign-in logs.")

    @audit.command("prune")
    @click.option("--days", type=int, required=True, help="Keep this many days (at least 180).")
    def audit_prune(days):
        """Remove log entries older than DAYS days; refuses fewer than 180 (等保 2.0)."""
        try:
            removed = audit_log.prune(days)
        except ValueError:
            raise click.UsageError(f"日志至少保留 {audit_log.MIN_RETENTION_DAYS} 天，不能只保留 {days} 天。")
        click.echo(f"已删除操作日志 {removed['audit_log']} 条、登录日志 {removed['login_log']} 条")

    backup = AppGroup("backup", help="Back up and restore the database (and the uploads).")

    @backup.command("create")
    @click.option("--to", "folder", default=None, help="The folder to make (default: instance/backups/<time>).")
    def backup_create(folder):
        """A consistent backup while the app runs, with row counts and checksums."""
        folder = folder or backups.default_folder()
        try:
            manifest = backups.create(folder)
        except backups.BackupError as error:
            raise click.ClickException(f"备份失败：{error}")
        rows = sum(t["rows"] for t in manifest["tables"].values())
        click.echo(f"已备份到 {folder}：{len(manifest['tables'])} 张表，{rows} 行")

    @backup.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    @click.option("--yes", is_flag=True, help="Do not ask: the database is replaced by the backup.")
    def backup_restore(folder, yes):
        """Replace the database with the backup in FOLDER, then check every table."""
        if not yes:
            click.confirm(f"用 {folder} 中的备份替换当前数据库（当前数据将被覆盖）？", abort=True)
        try:
            done = backups.restore(folder)
        except backups.BackupError as error:
            raise click.ClickException(f"恢复失败：{error}")
        click.echo(f"已恢复并核对：{done['tables']} 张表，{done['rows']} 行，行数与校验和均与备份一致")

    app.cli.add_command(backup)
    app.cli.add_command(audit)
    app.cli.add_command(roles)
    for command in _commands:
        app.cli.add_command(command)
