"""The `loopgate` command, built with Typer: typed options, `--help` on every command, shell completion.

Exit codes: 0 done, 1 a gate failed, 2 bad usage or configuration.
"""

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from app.core.settings import Settings, load_settings
from app.gates.report import ReportFormat

if TYPE_CHECKING:
    from app.inbound.backfill import BackfillRange, BackfillReport, BackfillStopped

USAGE_ERROR = 2

cli = typer.Typer(
    name="loopgate", help="Loopgate: serve, worker, migrate, token create, jobs run, gate check, "
    "backfill pagerduty, openapi. "
    "Exit codes: 0 done, 1 a gate failed or a backfill stopped early (run it again to resume), "
    "2 bad usage or configuration.", no_args_is_help=True, add_completion=True,
    # A traceback with locals could print settings; operators get Python's plain one.
    pretty_exceptions_enable=False, pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
token_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
jobs_cli = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
gate_cli = typer.Typer(help="Ask a running Loopgate's gates (for CI).", no_args_is_help=True)
backfill_cli = typer.Typer(help="Import history from a vendor, through the webhook path.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(gate_cli, name="gate")
cli.add_typer(backfill_cli, name="backfill")


def fail(command: str, message: str, code: int = USAGE_ERROR) -> typer.Exit:
    """Print `loopgate <command>: <message>` on stderr; the caller raises the returned Exit."""
    print(f"loopgate {command}: {message}", file=sys.stderr)
    return typer.Exit(code)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API."""
    load_settings()  # refuse a bad configuration here, readably, before uvicorn starts
    import uvicorn

    uvicorn.run("app.main:app", host=host, port=port, workers=workers, proxy_headers=True)


@cli.command()
def worker() -> None:
    """Run an arq worker (needs LOOPGATE_REDIS_URL)."""
    settings = load_settings()
    if not settings.redis_url:
        raise fail("worker", "LOOPGATE_REDIS_URL is not set; without it jobs run inside the API process.")
    from arq import run_worker
    from arq.connections import RedisSettings

    from app.worker import WorkerSettings

    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    run_worker(WorkerSettings, redis_settings=RedisSettings.from_dsn(settings.redis_url))


@cli.command()
def migrate(revision: Annotated[str, typer.Option(help="Alembic revision to upgrade to.")] = "head") -> None:
    """Upgrade the database schema."""
    from app.core.migrations import upgrade

    upgrade(load_settings().database_url, revision)
    print(f"loopgate: database at revision {revision}")


async def _create_token(settings: Settings, name: str, scopes: list[str]) -> dict[str, object]:
    from app.core.db import create_engine, create_sessionmaker
    from app.tokens.service import create_token

    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            token, secret = await create_token(session, name=name, scopes=scopes, actor="cli")
            await session.commit()
            return {"id": str(token.id), "name": token.name, "scopes": token.scopes, "token": secret}
    finally:
        await engine.dispose()


def _scope_names() -> list[str]:
    from app.tokens.auth import Scope

    return [s.value for s in Scope]


@token_cli.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read,write,gates:read,admin.")],
) -> None:
    """Create a token and print its secret once."""
    settings = load_settings()
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    known = _scope_names()
    unknown = sorted(set(wanted) - set(known))
    if not wanted or unknown:
        raise fail("token create", f"unknown scopes {unknown or wanted}; choose from {', '.join(known)}")
    print(json.dumps(asyncio.run(_create_token(settings, name, wanted)), indent=2))


async def _run_job(settings: Settings, name: str) -> None:
    from app.runtime import JOBS, open_runtime

    runtime = await open_runtime(settings)
    try:
        await JOBS[name](runtime.ctx)
        await runtime.queue.drain()
    finally:
        await runtime.close()


def _job_names(incomplete: str) -> list[str]:
    from app.runtime import JOBS

    return sorted(name for name in JOBS if name.startswith(incomplete))


@jobs_cli.command("run")
def jobs_run(job: Annotated[str, typer.Argument(help="The job's name.", autocompletion=_job_names)]) -> None:
    """Run one job now against the configured database."""
    settings = load_settings()
    from app.runtime import JOBS

    if job not in JOBS:
        raise fail("jobs run", f"unknown job {job!r}; one of {', '.join(sorted(JOBS))}")
    asyncio.run(_run_job(settings, job))


@gate_cli.command("check")
def gate_check(
    postmortem_id: Annotated[str | None, typer.Argument(help="The postmortem that wants to close.")] = None,
    service: Annotated[str | None, typer.Option(help="The service that wants to deploy (PagerDuty id or name).")
                       ] = None,
    url: Annotated[str | None, typer.Option(help="Loopgate's base URL (default: LOOPGATE_URL).")] = None,
    token: Annotated[str | None, typer.Option(help="A token with the gates:read scope (default: LOOPGATE_TOKEN).")
                     ] = None,
    report_format: Annotated[ReportFormat, typer.Option(
        "--format", help="text for people; json for scripts; junit for CI test reports (GitLab, Jenkins, GitHub)")
    ] = ReportFormat.text,
) -> None:
    """Exit 0 when the gate passes, 1 when it fails, 2 on errors. Reads LOOPGATE_URL and LOOPGATE_TOKEN
    unless given; needs none of the server's settings."""
    from app.gates.cli import check

    raise typer.Exit(check(url=url, token=token, postmortem_id=postmortem_id, service=service,
                           report_format=report_format))


def _moment(value: str | None) -> datetime | None:
    """YYYY-MM-DD or an ISO 8601 time; UTC unless it names a zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _backfill(settings: Settings, window: "BackfillRange", restart: bool
                    ) -> tuple["BackfillReport | BackfillStopped", float, float]:
    from app.core.progress import progress_bar
    from app.inbound.backfill import BackfillStopped, PagerDutyBackfill
    from app.runtime import open_runtime

    runtime = await open_runtime(settings)
    try:
        assert runtime.pagerduty is not None  # checked with the settings
        started = time.monotonic()
        outcome: BackfillReport | BackfillStopped
        with progress_bar("PagerDuty incidents", unit="incidents") as tracker:
            try:
                outcome = await PagerDutyBackfill(sessionmaker=runtime.sessionmaker, inbox=runtime.inbox,
                                                  reader=runtime.pagerduty, tracker=tracker).run(window,
                                                                                                 restart=restart)
            except BackfillStopped as exc:
                outcome = exc
        stored = time.monotonic()
        # Jobs in this process (no Redis): apply what was stored before exiting; with Redis, workers do.
        await runtime.queue.drain()
        return outcome, stored - started, time.monotonic() - stored
    finally:
        await runtime.close()


@backfill_cli.command("pagerduty")
def backfill_pagerduty(
    since: Annotated[datetime, typer.Option(parser=_moment, metavar="DATE",
                                            help="Incidents created at or after this (YYYY-MM-DD or ISO 8601, UTC).")],
    until: Annotated[datetime | None, typer.Option(parser=_moment, metavar="DATE",
                                                   help="…and before this (default: now, fixed at the first run).")
                     ] = None,
    service: Annotated[list[str] | None, typer.Option(metavar="ID", help="Only this PagerDuty service (repeatable).")
                       ] = None,
    restart: Annotated[bool, typer.Option(help="Forget this range's checkpoint and list it all again.")] = False,
) -> None:
    """Import historical incidents and their log entries through the REST API, as the webhook events they would
    have been: stored in the inbox once, applied by the same job. Resumable: run the same command again."""
    from app.inbound.backfill import BackfillRange, BackfillStopped

    settings = load_settings()
    if settings.pagerduty_api_token is None:
        raise fail("backfill pagerduty", "LOOPGATE_PAGERDUTY_API_TOKEN is not set.")
    if until is not None and until <= since:
        raise fail("backfill pagerduty", "--until must be after --since.")
    if since >= datetime.now(UTC):
        raise fail("backfill pagerduty", "--since is in the future.")
    window = BackfillRange(since=since, until=until, services=tuple(service or ()))
    try:
        report, import_seconds, apply_seconds = asyncio.run(_backfill(settings, window, restart))
    except KeyboardInterrupt:
        raise fail("backfill pagerduty", "interrupted; run the same command again to resume.", code=130) from None
    if isinstance(report, BackfillStopped):
        raise fail("backfill pagerduty", f"stopped: {report}. What was stored is kept and applied; run the "
                                         "same command again to resume.", code=1)
    if report.already_finished:
        print("loopgate backfill pagerduty: this range was imported before; --restart lists it again.")
        return
    seen = report.imported + report.already_present
    rate = seen / import_seconds if import_seconds > 0 else 0.0
    resumed = f" (resumed from {report.resumed_from.isoformat()})" if report.resumed_from else ""
    print(f"loopgate backfill pagerduty: {seen} incidents{resumed}: {report.imported} imported, "
          f"{report.already_present} already stored; {report.events} events stored in {import_seconds:.1f} s "
          f"({rate:.1f} incidents/s), applied in {apply_seconds:.1f} s more.")


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document the API serves (YAML)."""
    from app.core.openapi import openapi_yaml
    from app.main import create_app

    sys.stdout.write(openapi_yaml(create_app(Settings())))


def main(argv: list[str] | None = None) -> None:
    """The console script: runs the command and exits with its code."""
    cli(args=argv, prog_name="loopgate")


if __name__ == "__main__":
    main()
