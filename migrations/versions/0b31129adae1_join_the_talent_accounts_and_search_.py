"""join the talent, accounts and search branches

Revision ID: 0b31129adae1
Revises: 067fef1565db, 4f1554fe77eb, ec1e0514f41f
Create Date: 2026-11-29 21:30:47.897651

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0b31129adae1'
down_revision = ('067fef1565db', '4f1554fe77eb', 'ec1e0514f41f')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
