"""Ids never reused (SQLite AUTOINCREMENT) and patient archive (soft delete).

SQLite without AUTOINCREMENT gives a new row the largest id + 1, so deleting the newest patient handed its id,
and the folders named after it, to the next patient. Each table with an integer key is rebuilt with
AUTOINCREMENT; the sequences of patients and evaluations start above every id the audit log mentions (ids of
records deleted before this migration). PostgreSQL sequences never go back: only the new column is added there.
The rebuild needs foreign keys off (a dropped parent table would cascade); ``store.migrate.upgrade`` does that.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# parents before children (order does not matter with foreign keys off, but reads naturally)
AUTOINCREMENT_TABLES = ('clinics', 'users', 'login_attempts', 'patients', 'evaluations', 'uploads', 'jobs',
                        'audit_log')
# tables whose deleted ids the audit log remembers (entity name → table)
AUDITED_ENTITIES = {'patient': 'patients', 'evaluation': 'evaluations'}


def _rebuild(autoincrement: bool) -> None:
    for table in AUTOINCREMENT_TABLES:
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        _rebuild(True)
        for entity, table in AUDITED_ENTITIES.items():
            top = bind.execute(sa.text(
                f"SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM {table} UNION ALL "
                f"SELECT MAX(entity_id) FROM audit_log WHERE entity = :entity)"), {'entity': entity}).scalar()
            if top:
                bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {'t': table})
                bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
                             {'t': table, 'seq': int(top)})
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild(False)
