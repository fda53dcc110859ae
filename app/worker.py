"""arq WorkerSettings: the jobs a `loopgate worker` runs, nothing else."""

from arq import cron

from app.runtime import JOBS, reconcile_jira, sweep_all, worker_shutdown, worker_startup


class WorkerSettings:
    functions = list(JOBS.values())
    # unique: with several workers, one sweep per minute, not one per worker.
    cron_jobs = [
        cron(sweep_all, name="cron:sweep_all", second=0, unique=True, run_at_startup=True),
        cron(reconcile_jira, name="cron:reconcile_jira", minute={0, 15, 30, 45}, second=30, unique=True),
    ]
    on_startup = worker_startup
    on_shutdown = worker_shutdown
