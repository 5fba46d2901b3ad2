"""Progress bars for the long commands (archive verify, export, backup, compliance report,
provision apply): rich bars on standard error, so standard output stays clean for
`--format json|csv`, and nothing at all when standard error is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def bar(console: Console | None = None) -> Progress:
    """A bar with count, percentage, elapsed and remaining time; removed when done."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )


class Steps:
    """One bar whose task can be re-described and re-sized as a command moves from step
    to step (e.g. backup: copy the database, hash the files, write the archive)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("starting", total=None)

    def step(self, description: str, total: float | None = None) -> Callable[[float], None]:
        """Start a step; returns the callback that sets how far it got."""
        self.progress.reset(self.task, description=description, total=total, completed=0)
        return lambda done: self.progress.update(self.task, completed=done)

    def later(self, description: str, total: float | None = None) -> Callable[[float], None]:
        """A step that starts when its callback is first called (a phase that follows
        another inside one library call)."""
        started: list[Callable[[float], None]] = []

        def advance(done: float) -> None:
            if not started:
                started.append(self.step(description, total))
            started[0](done)

        return advance


@contextmanager
def steps(console: Console | None = None) -> Iterator[Steps]:
    """A bar for a command with several steps."""
    with bar(console) as progress:
        yield Steps(progress)
