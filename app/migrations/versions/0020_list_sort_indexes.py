"""indexes for the lists' default orders: residents by name (in a community, and across a
street or district), demands by filing time (bench/: a district-wide list sorted a million
rows to show twenty)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 20:00:00

"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_person_community_name", "person", ["community_id", "name", "id"])
    op.create_index("ix_person_name", "person", ["name", "id"])
    op.create_index("ix_demand_created", "demand", ["created_at", "id"])


def downgrade():
    op.drop_index("ix_demand_created", table_name="demand")
    op.drop_index("ix_person_name", table_name="person")
    op.drop_index("ix_person_community_name", table_name="person")
