"""a filing stores how its result is received and, for post, a copy of the address chosen

Revision ID: 067fef1565db
Revises: b2a11758bb04
Create Date: 2026-11-29 20:28:31.198995

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '067fef1565db'
down_revision = 'b2a11758bb04'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_method', sa.Enum('window', 'post', name='deliverymethod', native_enum=False, create_constraint=True, length=24), nullable=False, server_default='window'))
        batch_op.add_column(sa.Column('delivery_recipient', sa.String(length=50), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('delivery_phone', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('delivery_address', sa.String(length=200), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_application_deliverymethod'), type_='check')
        batch_op.drop_column('delivery_address')
        batch_op.drop_column('delivery_phone')
        batch_op.drop_column('delivery_recipient')
        batch_op.drop_column('delivery_method')

