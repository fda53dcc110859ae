"""A progress bar for long commands: count, rate and ETA on a terminal, nothing at all otherwise.

Output goes to stderr, so a command's stdout stays parseable; in a pipe, a log file or CI
(stderr not a terminal) the bar is silent and the command says what it did when it ends.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second over the last few seconds (rich's own speed estimate)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} {self._unit}/s" if speed else f"– {self._unit}/s", style="progress.data.speed")


class Tracker:
    """What a long job reports its progress to; it counts even when nothing is shown."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self.count = 0
        self.total: int | None = None

    def advance(self, amount: int = 1) -> None:
        self.count += amount
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.count)

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def describe(self, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)


@contextmanager
def progress_bar(description: str, *, unit: str = "items", total: int | None = None, console: Console | None = None,
                 get_time: Callable[[], float] | None = None) -> Iterator[Tracker]:
    """Show `description`, a bar, done/total, the rate and the time left while the block runs."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        tracker = Tracker(None, None)
        tracker.set_total(total)
        yield tracker
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, get_time=get_time, transient=False) as progress:
        tracker = Tracker(progress, progress.add_task(description, total=total))
        tracker.set_total(total)
        yield tracker
