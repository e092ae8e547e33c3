"""Migrations from an empty database, and models that agree with them."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config as AlembicConfig
from flask_appbuilder import Model
from sqlalchemy import inspect


def test_the_database_is_at_the_head_revision(app, ctx):
    from app.extensions import MIGRATIONS_DIR, db

    script = ScriptDirectory.from_config(_alembic_config(MIGRATIONS_DIR))
    conn = db.session.connection()
    current = MigrationContext.configure(conn).get_current_revision()
    assert current == script.get_current_head()


def _alembic_config(directory):
    config = AlembicConfig()
    config.set_main_option("script_location", directory)
    return config


def test_models_and_migrations_agree(app, ctx):
    """Autogenerate finds nothing to do: the migrations create exactly the models."""
    from app.extensions import db

    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, Model.metadata)
    assert diff == [], diff


def test_framework_tables_are_migrated_too(app, ctx):
    from app.extensions import db

    tables = set(inspect(db.session.connection()).get_table_names())
    assert {"ab_user", "ab_role", "ab_permission_view", "compound", "organisation", "dict_item"} <= tables
