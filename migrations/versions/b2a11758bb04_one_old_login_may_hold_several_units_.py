"""one old login may hold several units; the old system is a code of the 历史系统 table

Revision ID: b2a11758bb04
Revises: 5094efc29545
Create Date: 2026-11-29 20:22:38.064707

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2a11758bb04'
down_revision = '5094efc29545'
branch_labels = None
depends_on = None


#: The shipped 历史系统 codes (rules.codes.LEGACY_SYSTEMS when this revision was written): rows
#: typed as free text with one of these names become the code; other names stay as typed.
SYSTEMS = {"江苏省人社网办大厅": "JS_WB", "江苏省社会保险基金管理中心网上业务大厅": "JS_SBJ",
           "泰州市人社网办大厅": "TZ_WB", "杭州社保旧网办": "HZ_WB", "舟山人社旧网办": "ZS_WB"}


def upgrade():
    with op.batch_alter_table('legacy_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_legacy_account_old_system_old_login'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_legacy_account_old_system_old_login_unit_id'), ['old_system', 'old_login', 'unit_id'])
    legacy = sa.table('legacy_account', sa.column('old_system', sa.String))
    for name, code in SYSTEMS.items():
        op.execute(legacy.update().where(legacy.c.old_system == name).values(old_system=code))


def downgrade():
    legacy = sa.table('legacy_account', sa.column('old_system', sa.String))
    for name, code in SYSTEMS.items():
        op.execute(legacy.update().where(legacy.c.old_system == code).values(old_system=name))
    # an old login holding several units cannot go back to one row per login: refused by the
    # old unique constraint below, as it should be
    with op.batch_alter_table('legacy_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_legacy_account_old_system_old_login_unit_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_legacy_account_old_system_old_login'), ['old_system', 'old_login'])
