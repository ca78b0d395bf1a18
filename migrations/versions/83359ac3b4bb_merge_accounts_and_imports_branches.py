"""merge accounts and imports branches

Revision ID: 83359ac3b4bb
Revises: 986d214e2c65, c12f0a7e5b31
Create Date: 2026-11-29 17:43:37.991502

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '83359ac3b4bb'
down_revision = ('986d214e2c65', 'c12f0a7e5b31')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
