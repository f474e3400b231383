"""CLI commands of the clinic web app: ``serve``, ``admin create``, ``admin reset``, ``db upgrade``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from backtorun.cli._common import console, err_console, user_errors



def _check_password(settings, password: str, *, email: str, clinic: str) -> None:  # type: ignore[no-untyped-def]
    """Apply the web app's password policy (ASVS 2.1); an InputError says what to change."""
    from backtorun.errors import InputError
    from backtorun.web.passwords import PasswordPolicy, password_problem

    policy = PasswordPolicy.of(settings)
    problem = password_problem(password, policy, context=(email, clinic))
    if problem:
        what = "too short" if len(password) < policy.min_chars else "refused"
        raise InputError(f"the password is {what}: {problem}")

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
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips", help="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
                                            "X-Forwarded-Proto are trusted (default: none, not even this computer)."),
) -> None:
    """Start the clinic web app (migrates the database first)."""
    with user_errors():
        import uvicorn

        from backtorun.web import create_app
        from backtorun.web.storage import restrict_process_umask

        restrict_process_umask()  # database, uploads and results readable by this account only
        proxies = tuple(a.strip() for a in (forwarded_allow_ips or "").split(",") if a.strip())
        settings = _settings(db, data_dir, jobs_backend=jobs_backend, dask_scheduler=dask_scheduler,
                             forwarded_allow_ips=proxies or None)
        app = create_app(settings)
        err_console.print(f"backtorun clinic on http://{host}:{port}  (data: {settings.data_dir})")
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    proxy_headers=bool(settings.forwarded_allow_ips),
                    forwarded_allow_ips=list(settings.forwarded_allow_ips) or None)


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
        if "@" not in email:
            raise InputError(f"{email!r} is not an e-mail address")
        settings = _settings(db, data_dir)
        _check_password(settings, password, email=email, clinic=clinic)
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


@admin_app.command("reset")
def admin_reset(
    email: str = typer.Option(..., "--email", help="Login e-mail of the account."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
) -> None:
    """Give an account a one-time password (printed once; must be replaced at the next login), end its sessions
    and remove its second factor: for a locked-out last administrator."""
    with user_errors():
        from backtorun.errors import InputError
        from backtorun.store import make_engine, repo, session_factory, upgrade
        from backtorun.web.accounts import one_time_password

        settings = _settings(db, data_dir)
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        with session_factory(engine).begin() as s:
            user = repo.get_user_by_email(s, email)
            if user is None:
                raise InputError(f"no account for {email}")
            password = one_time_password(settings)
            repo.set_password(s, user, password, must_change=True, valid_s=settings.reset_valid_s)
            repo.set_totp(s, user, None)
            repo.set_active(s, user, True)
            repo.audit(s, None, "password_reset", "user", user.id, f"{user.email}; from the command line",
                       clinic_id=user.clinic_id)
        engine.dispose()
        console.print(f"one-time password for {email.strip().lower()}: {password}")
        err_console.print(f"it must be replaced at the next login and lapses in {settings.reset_valid_s // 3600} h")


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
