"""a version on every workflow row (demand, decision, pledge project, meeting): each step
of a workflow is a conditional UPDATE on the version and the status it starts from, so of
two steps racing from one snapshot exactly one wins (issue 16, defect 2)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 15:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

TABLES = ("demand", "decision", "pledge_project", "meeting")


def upgrade():
    for table in TABLES:  # a plain ADD COLUMN on both databases (no table rebuild)
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
