"""CLI commands of the clinic web app: ``serve``, ``admin create``, ``db upgrade``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from backtorun.cli._common import console, err_console, user_errors

MIN_PASSWORD_CHARS = 10

admin_app = typer.Typer(help="Clinic accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def _settings(db: Optional[str], data_dir: Optional[Path], **extra: object):  # type: ignore[no-untyped-def]
    from backtorun.web.settings import WebSettings

    values: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if db:
        values["database_url"] = db
    if data_dir:
        values["data_dir"] = data_dir
    return WebSettings(**values)


def serve(
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default: SQLite in the data directory), "
                                                         "e.g. postgresql://user@host/dbname."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1 = this computer only)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder for uploads, results and SQLite."),
    jobs_backend: Optional[str] = typer.Option(None, "--jobs", help="inprocess (default) or dask."),
    dask_scheduler: Optional[str] = typer.Option(None, "--dask-scheduler", help="Dask scheduler address."),
) -> None:
    """Start the clinic web app (migrates the database first)."""
    with user_errors():
        import uvicorn

        from backtorun.web import create_app

        settings = _settings(db, data_dir, jobs_backend=jobs_backend, dask_scheduler=dask_scheduler)
        app = create_app(settings)
        err_console.print(f"backtorun clinic on http://{host}:{port}  (data: {settings.data_dir})")
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, access_log=False)


@admin_app.command("create")
def admin_create(
    email: str = typer.Option(..., "--email", help="Login e-mail of the administrator."),
    clinic: str = typer.Option(..., "--clinic", help="Clinic name (created if it does not exist)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
) -> None:
    """Create a clinic administrator (the first account of a clinic)."""
    with user_errors():
        from backtorun.errors import InputError
        from backtorun.store import make_engine, repo, session_factory, upgrade

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < MIN_PASSWORD_CHARS:
            raise InputError(f"the password is too short ({len(password)} characters)",
                             hint=f"use at least {MIN_PASSWORD_CHARS} characters")
        if "@" not in email:
            raise InputError(f"{email!r} is not an e-mail address")
        settings = _settings(db, data_dir)
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        with session_factory(engine).begin() as s:
            if repo.get_user_by_email(s, email) is not None:
                raise InputError(f"an account for {email} already exists")
            c = repo.get_or_create_clinic(s, clinic.strip())
            user = repo.create_user(s, email=email, password=password, clinic=c, is_admin=True)
            repo.audit(s, user, "create", "user", user.id, "administrator created from the command line")
        engine.dispose()
        console.print(f"administrator {email.lower()} created for clinic '{clinic.strip()}'")


@db_app.command("upgrade")
def db_upgrade(
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
) -> None:
    """Bring the database schema up to date (the server also does this on startup)."""
    with user_errors():
        from backtorun.store import make_engine, upgrade

        settings = _settings(db, data_dir)
        engine = make_engine(settings.resolved_database_url())
        rev = upgrade(engine)
        engine.dispose()
        console.print(f"database at revision {rev}")


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("serve")(serve)
    app.add_typer(admin_app, name="admin")
    app.add_typer(db_app, name="db")
