"""merge manuals and designer branches

Revision ID: 5094efc29545
Revises: 9df23433b885, a1750b81d0ac
Create Date: 2026-11-29 18:33:45.604268

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5094efc29545'
down_revision = ('9df23433b885', 'a1750b81d0ac')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
