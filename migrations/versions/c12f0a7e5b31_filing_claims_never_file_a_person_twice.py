"""filing claims: never file a person twice

Revision ID: c12f0a7e5b31
Revises: d35a210cb419
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c12f0a7e5b31'
down_revision = 'd35a210cb419'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('filing_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('business', sa.String(length=50), nullable=False),
    sa.Column('id_no', sa.String(length=32), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_filing_claim_application_id_application')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_filing_claim_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_filing_claim')),
    sa.UniqueConstraint('unit_id', 'business', 'id_no', name=op.f('uq_filing_claim_unit_id_business_id_no'))
    )
    with op.batch_alter_table('filing_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_claim_application_id'), ['application_id'], unique=False)


def downgrade():
    with op.batch_alter_table('filing_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_claim_application_id'))
    op.drop_table('filing_claim')
