"""``socialgraph explain``: why the model scores a pair as it does."""
from __future__ import annotations

from pathlib import Path

import typer


def explain(
    u: str = typer.Argument(..., help="External id of the first user."),
    v: str = typer.Argument(..., help="External id of the second user."),
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder written by `socialgraph train`."),
    hidden: list[str] = typer.Option([], "--hide", help="A user the asker may not see (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    device: str = typer.Option("auto", "--device", help="Where the model computes: auto (cuda when available), "
                               "cpu, cuda or cuda:N."),
) -> None:
    """Explain why the model scores a pair of users as it does.

    Prints the calibrated probability, mutual friends, CN/AA/RA/Jaccard, and
    which modalities and neighbours weighed most on each side. U and V are
    external user ids, as in the data.

    Examples:

      socialgraph explain --model models/lastfm 2 275

      socialgraph explain --model models/lastfm 2 275 --hide 7 --json
    """
    from socialgraph.predictor import Predictor

    # A missing bundle or an unknown id is reported by the command line's entry point, in one line.
    e = Predictor.load(model, device=device).explain(u, v, hidden=hidden)
    typer.echo(e.to_json(indent=1) if as_json else str(e))
