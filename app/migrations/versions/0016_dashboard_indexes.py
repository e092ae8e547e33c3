"""indexes for the dashboard's periods: demands by community or grid and filing time

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 15:40:00

"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_demand_community_created", "demand", ["community_id", "created_at"])
    op.create_index("ix_demand_grid_created", "demand", ["grid_id", "created_at"])


def downgrade():
    op.drop_index("ix_demand_grid_created", table_name="demand")
    op.drop_index("ix_demand_community_created", table_name="demand")
