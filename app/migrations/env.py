"""Alembic environment: the target is FAB's Model.metadata (our tables and ab_*)."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from flask_appbuilder import Model

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = Model.metadata


def _engine():
    return current_app.extensions["migrate"].db.engine


def _configure_args():
    return dict(target_metadata=target_metadata, compare_type=True,
                render_as_batch=True, compare_server_default=False)


def run_migrations_offline():
    context.configure(url=str(_engine().url), literal_binds=True, **_configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, process_revision_directives=process_revision_directives,
                          **_configure_args())
        with context.begin_transaction():
            context.run_migrations()
        return
    with _engine().connect() as connection:
        if connection.dialect.name == "sqlite":
            # batch migrations copy tables; foreign keys are checked again afterwards
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection,
                          process_revision_directives=process_revision_directives,
                          **_configure_args())
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
