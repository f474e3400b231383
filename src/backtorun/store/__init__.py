"""Storage: SQLAlchemy 2 models, repository functions (session passed explicitly), Alembic migrations.

``make_engine(url)`` → ``migrate.upgrade(engine)`` → ``session_factory(engine)``; see ``repo`` and ``jobs``.
"""

from backtorun.store.db import default_data_dir, default_db_url, make_engine, normalize_url, session_factory
from backtorun.store.migrate import upgrade

__all__ = ["default_data_dir", "default_db_url", "make_engine", "normalize_url", "session_factory", "upgrade"]
