"""The `loopgate` command as an operator meets it: help everywhere, usage errors exit 2, shell completion.

The commands' own behaviour is tested beside their domains (tokens, settings, gates, worker
metrics, end to end); here, what the Typer port promises on top.
"""

import os
import subprocess
import sys

import pytest
import typer

from app.cli import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LOOPGATE_DATABASE_URL": "sqlite+aiosqlite:///:memory:",
                               "COLUMNS": "200", **(env or {})})


def command_paths(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths.extend(command_paths(sub, (*prefix, name)))
    return paths


ALL_COMMANDS = command_paths(typer.main.get_command(cli))


def test_every_command_of_before_the_port_is_still_there():
    assert {" ".join(path) for path in ALL_COMMANDS} >= {
        "", "serve", "worker", "migrate", "token", "token create", "jobs", "jobs run", "gate", "gate check",
        "openapi"}


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "loopgate")
def test_every_command_answers_help(path):
    result = run(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: loopgate" in result.stdout


def test_options_keep_their_names_and_defaults():
    serve = run("serve", "--help").stdout
    for option in ("--host", "--port", "--workers", "0.0.0.0", "8000"):
        assert option in serve
    assert "--revision" in run("migrate", "--help").stdout and "head" in run("migrate", "--help").stdout
    check = run("gate", "check", "--help").stdout
    for option in ("--service", "--url", "--token", "POSTMORTEM_ID"):
        assert option in check.upper() if option.isupper() else option in check


@pytest.mark.parametrize("args", [
    (), ("nope",), ("token",), ("token", "create", "--name", "x"), ("serve", "--port", "eighty"),
    ("jobs", "run"), ("jobs", "run", "no_such_job"),
], ids=lambda a: " ".join(a) or "no command")
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


def test_an_unknown_job_names_the_known_ones():
    result = run("jobs", "run", "no_such_job")
    assert "unknown job 'no_such_job'; one of" in result.stderr and "apply_inbox" in result.stderr


def test_gate_check_needs_no_server_settings():
    # A broken server setting does not stop `gate check`; the missing URL does (exit 2, as before the port).
    result = run("gate", "check", "pm-1", env={"LOOPGATE_MAX_BODY_BYTES": "lots", "LOOPGATE_URL": "",
                                               "LOOPGATE_TOKEN": ""})
    assert result.returncode == 2
    assert result.stderr == "loopgate gate check: set --url and --token (or LOOPGATE_URL and LOOPGATE_TOKEN)\n"


def test_shell_completion_offers_job_names():
    result = run(env={"_LOOPGATE_COMPLETE": "complete_bash", "COMP_WORDS": "loopgate jobs run apply_",
                      "COMP_CWORD": "3"})
    assert result.returncode == 0
    assert result.stdout.split() == ["apply_inbox"]


def test_shell_completion_offers_commands():
    result = run(env={"_LOOPGATE_COMPLETE": "complete_bash", "COMP_WORDS": "loopgate g", "COMP_CWORD": "1"})
    assert result.stdout.split() == ["gate"]


def test_a_completion_script_is_printed_for_bash():
    # The shell is detected from the parent process, so bash starts the command.
    result = subprocess.run(["bash", "-c", f"{sys.executable} -m app.cli --show-completion; exit $?"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "_LOOPGATE_COMPLETE=complete_bash" in result.stdout
