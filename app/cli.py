"""The `loopgate` command: serve, worker, migrate, token create, jobs run, gate check."""

import argparse
import asyncio
import json
import sys

from app.core.settings import Settings, load_settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers, proxy_headers=True)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        print("loopgate worker: LOOPGATE_REDIS_URL is not set; without it jobs run inside the API process.",
              file=sys.stderr)
        return 2
    from arq import run_worker
    from arq.connections import RedisSettings

    from app.worker import WorkerSettings

    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    run_worker(WorkerSettings, redis_settings=RedisSettings.from_dsn(settings.redis_url))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.migrations import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"loopgate: database at revision {args.revision}")
    return 0


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


def _token_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.tokens.auth import Scope

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = sorted(set(scopes) - {s.value for s in Scope})
    if not scopes or unknown:
        print(f"loopgate token create: unknown scopes {unknown or scopes}; choose from "
              f"{', '.join(s.value for s in Scope)}", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(_create_token(settings, args.name, scopes)), indent=2))
    return 0


async def _run_job(settings: Settings, name: str) -> None:
    from app.runtime import JOBS, open_runtime

    runtime = await open_runtime(settings)
    try:
        await JOBS[name](runtime.ctx)
        await runtime.queue.drain()
    finally:
        await runtime.close()


def _jobs_run(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import JOBS

    if args.job not in JOBS:
        print(f"loopgate jobs run: unknown job {args.job!r}; one of {', '.join(sorted(JOBS))}", file=sys.stderr)
        return 2
    asyncio.run(_run_job(settings, args.job))
    return 0


def _gate_check(args: argparse.Namespace, settings: Settings | None) -> int:
    from app.gates.cli import check
    from app.gates.report import ReportFormat

    return check(url=args.url, token=args.token, postmortem_id=args.postmortem_id, service=args.service,
                 report_format=ReportFormat(args.format))


def _openapi(args: argparse.Namespace, settings: Settings | None) -> int:
    from app.core.openapi import openapi_yaml
    from app.main import create_app

    sys.stdout.write(openapi_yaml(create_app(Settings())))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from app.gates.report import ReportFormat

    parser = argparse.ArgumentParser(prog="loopgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    commands.add_parser("worker", help="run an arq worker (needs LOOPGATE_REDIS_URL)").set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token and print its secret once")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated: read,write,gates:read,admin")
    create.set_defaults(run=_token_create)

    jobs = commands.add_parser("jobs", help="scheduled jobs").add_subparsers(dest="jobs_command", required=True)
    run = jobs.add_parser("run", help="run one job now against the configured database")
    run.add_argument("job")
    run.set_defaults(run=_jobs_run)
    gate = commands.add_parser("gate", help="ask a running Loopgate's gates (for CI)")
    gate_commands = gate.add_subparsers(dest="gate_command", required=True)
    gate_check = gate_commands.add_parser("check", help="exit 0 pass, 1 fail, 2 error",
                                          description="Reads LOOPGATE_URL and LOOPGATE_TOKEN unless given.")
    gate_check.add_argument("postmortem_id", nargs="?", help="the postmortem that wants to close")
    gate_check.add_argument("--service", help="the service that wants to deploy (PagerDuty id or name)")
    gate_check.add_argument("--url", help="Loopgate's base URL (default: LOOPGATE_URL)")
    gate_check.add_argument("--token", help="a token with the gates:read scope (default: LOOPGATE_TOKEN)")
    gate_check.add_argument("--format", choices=[f.value for f in ReportFormat], default=ReportFormat.text.value,
                            help="text (default), json, or a JUnit XML report for CI test views")
    gate_check.set_defaults(run=_gate_check, needs_settings=False)
    commands.add_parser("openapi", help="print the OpenAPI document the API serves (YAML)").set_defaults(
        run=_openapi, needs_settings=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # `gate check` talks HTTP to a server; it needs none of the server's settings.
    settings = load_settings() if getattr(args, "needs_settings", True) else None
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
