"""arq WorkerSettings: the jobs a `loopgate worker` runs, nothing else."""

from collections.abc import Sequence

from arq import cron
from arq.cron import CronJob
from arq.typing import StartupShutdown, WorkerCoroutine
from arq.worker import Function

from app.runtime import JOBS, worker_shutdown, worker_startup


class WorkerSettings:
    # Annotated as arq's WorkerSettingsBase declares them, so the class is one for `run_worker`.
    functions: Sequence[WorkerCoroutine | Function] = list(JOBS.values())
    # The instrumented jobs, so cron runs are counted too. unique: with several workers, one
    # sweep per minute, not one per worker.
    cron_jobs: Sequence[CronJob] | None = [
        cron(JOBS["sweep_all"], name="cron:sweep_all", second=0, unique=True, run_at_startup=True),
        cron(JOBS["reconcile_jira"], name="cron:reconcile_jira", minute={0, 15, 30, 45}, second=30, unique=True),
    ]
    on_startup: StartupShutdown | None = worker_startup
    on_shutdown: StartupShutdown | None = worker_shutdown
