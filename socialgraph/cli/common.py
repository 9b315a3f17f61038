"""Helpers shared by the command modules: failing with a clear message, loading a graph from a name or folder."""
from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_graph(dataset: Optional[str], data: Optional[Path]):
    """The graph named by exactly one of ``--dataset NAME`` / ``--data DIR``, or a clean exit with the reason."""
    from socialgraph.data import DataError, load

    if (dataset is None) == (data is None):
        fail("give exactly one of --dataset NAME or --data DIR")
    if data is not None and not Path(data).is_dir():
        fail(f"{data}: not a folder; --data expects a folder holding friends.csv (see docs/data-format.md)")
    try:
        return load(str(data) if data is not None else dataset)
    except DataError as err:
        fail(str(err))
