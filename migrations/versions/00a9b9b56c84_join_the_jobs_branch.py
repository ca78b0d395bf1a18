"""join the jobs branch

Revision ID: 00a9b9b56c84
Revises: 0b31129adae1, d06b99e4cbf8
Create Date: 2026-11-29 21:49:50.610805

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '00a9b9b56c84'
down_revision = ('0b31129adae1', 'd06b99e4cbf8')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
