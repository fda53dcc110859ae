"""The progress bar of long commands: count, rate and ETA on a terminal; silent when output is not one."""

import io
import re
import os
import subprocess
import sys

from rich.console import Console

from app.core.progress import progress_bar


class Ticks:
    """A clock the bar reads, moved by the test (rich estimates the rate from it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_it_shows_count_rate_and_time_left():
    out = io.StringIO()
    ticks = Ticks()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with progress_bar("Importing", unit="incidents", total=100, console=console, get_time=ticks) as tracker:
        for _ in range(40):
            ticks.now += 0.1  # 10 a second
            tracker.advance()
    final = out.getvalue().rsplit("\r", 1)[-1]
    assert "Importing" in final
    assert "40/100" in final
    assert "10.0 incidents/s" in final
    assert re.search(r"ETA 0:00:0[67]\b", final)  # 60 left at 10 a second (rich rounds the seconds up)
    assert tracker.count == 40


def test_without_a_total_it_still_counts_and_rates():
    out = io.StringIO()
    ticks = Ticks()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with progress_bar("Importing", unit="incidents", console=console, get_time=ticks) as tracker:
        for _ in range(5):
            ticks.now += 0.5
            tracker.advance(2)
    assert "4.0 incidents/s" in out.getvalue()
    assert tracker.count == 10


def test_when_output_is_not_a_terminal_it_prints_nothing():
    out = io.StringIO()
    with progress_bar("Importing", total=3, console=Console(file=out)) as tracker:
        tracker.advance(3)
    assert out.getvalue() == ""
    assert (tracker.count, tracker.total) == (3, 3)


def test_the_default_console_is_stderr_and_quiet_in_a_pipe():
    code = ("from app.core.progress import progress_bar\n"
            "with progress_bar('Importing', total=2) as t:\n    t.advance(2)\nprint('done', t.count)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TERM": "xterm"})
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("done 2\n", "")
