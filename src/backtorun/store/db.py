"""Engine and session factory: SQLite in the user's data directory by default, PostgreSQL by URL.

No engine is created at import time; ``make_engine(url)`` is called by ``web.create_app`` and the CLI.
"""

from __future__ import annotations

import logging
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from backtorun.errors import ConfigError

log = logging.getLogger(__name__)

APP_NAME = "backtorun"


def default_data_dir() -> Path:
    """Per-user data directory (e.g. ``~/.local/share/backtorun`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_url(data_dir: Path | None = None) -> str:
    """SQLite database file inside the data directory."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    return f"sqlite:///{(data_dir / 'backtorun.sqlite3').resolve()}"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if not (url.startswith("sqlite") or url.startswith("postgresql+")):
        raise ConfigError(f"unsupported database URL {url.split(':', 1)[0]}://…",
                          hint="use sqlite:///path/file.sqlite3 or postgresql://user@host:port/dbname")
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine. SQLite gets WAL mode, foreign keys and a busy timeout (several processes write to it)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA secure_delete=ON")  # deleted records are overwritten, not left in free pages
            cur.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def flush_deleted_data(engine: Engine) -> None:
    """After a deletion: on SQLite, checkpoint and truncate the write-ahead log, whose old frames still hold the
    deleted rows (``secure_delete`` already zeroes them in the database file). PostgreSQL reclaims dead rows by
    its own (auto)vacuum."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:
            log.warning("the SQLite log could not be truncated now (a reader is active); it is on the next checkpoint")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
