#!/usr/bin/env python3
"""Run a command against throwaway PostgreSQL and Redis servers (stdlib only).

Usage:
    python scripts/testenv.py -- <command> [args...]   # run command, propagate exit code
    python scripts/testenv.py --print-env              # print `export ...` lines, wait until killed

The child sees LOOPGATE_TEST_POSTGRES_URL and LOOPGATE_TEST_REDIS_URL. Both servers and
the temporary folder are removed on exit, including on failure, Ctrl-C and SIGTERM.
Exit code 2 means the environment could not be started.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
DB_NAME = "loopgate_test"


class SetupError(Exception):
    """The environment could not be started (exit code 2)."""


class Terminated(Exception):
    """Raised from the SIGTERM/SIGHUP handler; args[0] is the signal number."""


def log(msg: str) -> None:
    print(f"testenv: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def pg_bindir() -> str:
    """Directory holding initdb/pg_ctl/createdb: PATH first, then /usr/lib/postgresql/*/bin."""
    candidates = []
    if shutil.which("pg_ctl"):
        candidates.append(os.path.dirname(os.path.realpath(shutil.which("pg_ctl"))))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=lambda p: [int(x) for x in p.split("/")[-2].split(".") if x.isdigit()],
                         reverse=True)
    for d in candidates:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl")):
            return d
    raise SetupError("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin")


def run(cmd: list[str], as_postgres: bool, cwd: str) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool; as root it must run as the `postgres` user."""
    if as_postgres:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        raise SetupError(f"cannot run {cmd[0]}: {exc}") from exc
    try:
        out, err = proc.communicate()
    except BaseException:  # interrupted: SIGTERM (runuser forwards it) lets initdb/pg_ctl clean up
        stop_process(proc, "")
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def start_postgres(tmp: str, stack: contextlib.ExitStack) -> int:
    bindir = pg_bindir()
    as_pg = os.geteuid() == 0
    if as_pg:
        shutil.chown(tmp, user="postgres", group="postgres")
    data, logfile, port = os.path.join(tmp, "data"), os.path.join(tmp, "pg.log"), free_port()
    tool = lambda name: os.path.join(bindir, name)  # noqa: E731

    res = run([tool("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"], as_pg, tmp)
    if res.returncode != 0:
        raise SetupError(f"initdb failed:\n{res.stdout}{res.stderr}")

    opts = f"-p {port} -k {tmp} -c listen_addresses={HOST} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    stack.callback(stop_postgres, tool("pg_ctl"), data, as_pg, tmp)
    res = run([tool("pg_ctl"), "-D", data, "-o", opts, "-l", logfile, "-w", "-t", "60", "start"], as_pg, tmp)
    if res.returncode != 0:
        raise SetupError(f"pg_ctl start failed: {res.stderr.strip()}\n--- tail of {logfile} ---\n{tail(logfile)}")

    createdb = tool("createdb") if os.access(tool("createdb"), os.X_OK) else "createdb"
    res = run([createdb, "-h", HOST, "-p", str(port), "-U", "postgres", DB_NAME], False, tmp)
    if res.returncode != 0:
        raise SetupError(f"createdb failed: {res.stderr.strip()}\n--- tail of {logfile} ---\n{tail(logfile)}")
    with open(os.path.join(data, "PG_VERSION")) as f:
        log(f"postgres {f.read().strip()} on {HOST}:{port}")
    return port


def stop_postgres(pg_ctl: str, data: str, as_pg: bool, cwd: str) -> None:
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        res = run([pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "30", "stop"], as_pg, cwd)
        log("postgres stopped" if res.returncode == 0 else f"pg_ctl stop failed: {res.stderr.strip()}")


def find_redis() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    if os.geteuid() != 0:
        raise SetupError("redis-server not found on PATH; install it (e.g. apt-get install redis-server) or run as root")
    log("redis-server missing, installing it with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "redis-server"]):
        res = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if res.returncode != 0:
            raise SetupError(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    if not shutil.which("redis-server"):
        raise SetupError("redis-server still not found after apt-get install")
    return shutil.which("redis-server")


def redis_pings(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(tmp: str, stack: contextlib.ExitStack) -> int:
    port, logfile = free_port(), os.path.join(tmp, "redis.log")
    cmd = [find_redis(), "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no"]
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    stack.callback(stop_process, proc, "redis")
    deadline = time.monotonic() + 15
    while not redis_pings(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SetupError(f"redis-server did not answer PING\n--- tail of {logfile} ---\n{tail(logfile)}")
        time.sleep(0.05)
    log(f"redis on {HOST}:{port}")
    return port


def stop_process(proc: subprocess.Popen, name: str, grace: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if name:
            log(f"{name} stopped")


def run_command(argv: list[str], env: dict[str, str]) -> int:
    try:
        proc = subprocess.Popen(argv, env=env)
    except OSError as exc:
        log(f"cannot run {argv[0]!r}: {exc}")
        return 127
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the child got SIGINT too: give it a moment to finish on its own
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        stop_process(proc, "command")
        raise
    except Terminated as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(exc.args[0])
        stop_process(proc, "command")
        raise
    return 128 - code if code < 0 else code


def become_subreaper() -> None:
    """Adopt the postmaster that pg_ctl daemonizes, so we reap it (PID 1 in containers often won't)."""
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER (Linux only)


def reap_children(timeout: float = 3) -> None:
    """Collect adopted children that already exited (gives up after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.02)
        except ChildProcessError:
            return


def main(args: list[str]) -> int:
    print_env = args[:1] == ["--print-env"]
    command = args[1:] if args[:1] == ["--"] else []
    if not print_env and not command:
        print(__doc__.strip(), file=sys.stderr)
        return 2

    def on_signal(signum, _frame):
        raise Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    become_subreaper()
    stack = contextlib.ExitStack()
    tmp = tempfile.mkdtemp(prefix="loopgate-testenv-")
    os.chmod(tmp, 0o755)  # postgres must be able to enter it when we run as root
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    started = time.monotonic()
    try:
        pg_port = start_postgres(tmp, stack)
        redis_port = start_redis(tmp, stack)
        env = dict(os.environ,
                   LOOPGATE_TEST_POSTGRES_URL=f"postgresql+asyncpg://postgres@{HOST}:{pg_port}/{DB_NAME}",
                   LOOPGATE_TEST_REDIS_URL=f"redis://{HOST}:{redis_port}/0")
        log(f"ready in {time.monotonic() - started:.1f}s")
        if print_env:
            for key in ("LOOPGATE_TEST_POSTGRES_URL", "LOOPGATE_TEST_REDIS_URL"):
                print(f"export {key}={env[key]}", flush=True)
            log("running until interrupted (Ctrl-C or SIGTERM)")
            while True:
                signal.pause()
        return run_command(command, env)
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:
        return 128 + exc.args[0]
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # do not let a second signal skip cleanup
            signal.signal(sig, signal.SIG_IGN)
        stopping = time.monotonic()
        stack.close()
        reap_children()
        log(f"cleaned up in {time.monotonic() - stopping:.1f}s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
