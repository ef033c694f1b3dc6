"""The one way the CLI writes to a terminal or a pipe."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console

PIPE_WIDTH = 160


def console(out: TextIO) -> Console:
    """A rich console: colours only on a TTY; when piped (CI logs, files) wide enough that tables do not fold.

    ``emoji=False``: metric names such as ``instance:up:count`` must not turn into pictures.
    """
    width = None if out.isatty() else PIPE_WIDTH
    return Console(file=out, highlight=False, emoji=False, width=width)
