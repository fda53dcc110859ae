"""arq WorkerSettings: the jobs a `loopgate worker` runs, nothing else."""

from collections.abc import Sequence

from arq import cron
from arq.cron import CronJob
from arq.typing import StartupShutdown, WorkerCoroutine
from arq.worker import Function

from app.runtime import JOBS, SCHEDULE, worker_shutdown, worker_startup


class WorkerSettings:
    # Annotated as arq's WorkerSettingsBase declares them, so the class is one for `run_worker`.
    functions: Sequence[WorkerCoroutine | Function] = list(JOBS.values())
    # The instrumented jobs, so cron runs are counted too, on app/runtime.py's SCHEDULE. unique: with
    # several workers, one run per scheduled moment, not one per worker.
    cron_jobs: Sequence[CronJob] | None = [
        cron(JOBS[entry.job], name=f"cron:{entry.job}", hour=set(entry.hour) if entry.hour else None,
             minute=set(entry.minute) if entry.minute else None, second=entry.second, unique=True,
             run_at_startup=entry.job == "sweep_all")
        for entry in SCHEDULE
    ]
    # How often an idle worker looks for jobs (arq's default is 0.5 s): a backlog's helping apply
    # job (app/inbound/jobs.py) and every other job start within this.
    poll_delay: float = 0.1
    on_startup: StartupShutdown | None = worker_startup
    on_shutdown: StartupShutdown | None = worker_shutdown
