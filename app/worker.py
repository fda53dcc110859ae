"""arq WorkerSettings: the jobs a `loopgate worker` runs, nothing else."""

from arq import cron

from app.jobs import JOBS, sweep_all
from app.runtime import worker_shutdown, worker_startup


class WorkerSettings:
    functions = list(JOBS.values())
    # unique: with several workers, one sweep per minute, not one per worker.
    cron_jobs = [cron(sweep_all, name="cron:sweep_all", second=0, unique=True, run_at_startup=True)]
    on_startup = worker_startup
    on_shutdown = worker_shutdown
