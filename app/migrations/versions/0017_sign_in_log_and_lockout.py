"""sign-in log and lockout counters

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('login_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_log_username'), ['username'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_log_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_log_result'), ['result'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_log_ip'), ['ip'], unique=False)
    op.create_table(
        'auth_lock',
        sa.Column('key', sa.String(length=150), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key'))


def downgrade():
    op.drop_table('auth_lock')
    with op.batch_alter_table('login_log', schema=None) as batch_op:
        for name in ('ip', 'result', 'user_id', 'username', 'at'):
            batch_op.drop_index(batch_op.f(f'ix_login_log_{name}'))
    op.drop_table('login_log')
