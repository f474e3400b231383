"""Account lifecycle: forced password change after an administrator's reset, TOTP second factor, idle timeout.

Adds to ``users``: must_change_password, reset_expires_at, password_changed_at, totp_secret, totp_last_step;
to ``web_sessions``: last_seen_at. Plain ``ADD COLUMN`` on SQLite and PostgreSQL (no table rebuild, so the
AUTOINCREMENT of revision 0002 stays). Downgrading drops them (SQLite rebuilds ``users``, keeping AUTOINCREMENT).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

USER_COLUMNS = ('must_change_password', 'reset_expires_at', 'password_changed_at', 'totp_secret', 'totp_last_step')


def upgrade() -> None:
    # op.add_column, not batch mode: batch mode on SQLite would rebuild the table (a non-constant default) and
    # lose its AUTOINCREMENT; a literal default keeps ALTER TABLE … ADD COLUMN on both databases
    false = sa.text('false') if op.get_bind().dialect.name == 'postgresql' else sa.text('0')
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=false))
    op.add_column('users', sa.Column('reset_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.add_column('web_sessions', sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # sessions and second factors do not survive a downgrade (their columns go); every user logs in again
    op.execute(sa.text('DELETE FROM web_sessions'))
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    bind = op.get_bind()
    with op.batch_alter_table('users', schema=None,
                              table_kwargs={'sqlite_autoincrement': True} if bind.dialect.name == 'sqlite' else {}
                              ) as batch_op:
        for name in reversed(USER_COLUMNS):
            batch_op.drop_column(name)
