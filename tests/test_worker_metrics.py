"""`loopgate worker` serves its job counters on LOOPGATE_WORKER_METRICS_PORT."""

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_worker_serves_prometheus_metrics_on_its_port(settings, redis_url):
    port = free_port()
    env = {**os.environ, "LOOPGATE_DATABASE_URL": settings.database_url, "LOOPGATE_REDIS_URL": redis_url,
           "LOOPGATE_WORKER_METRICS_PORT": str(port)}
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                if "loopgate_job_runs_total" in text and 'job="sweep_all"' in text:
                    break
            except httpx.TransportError:
                pass
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker served no job counters within 30 s"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    # The cron sweep runs at start-up; its run is counted where it ran, in the worker.
    assert 'loopgate_job_runs_total{job="sweep_all"}' in text
