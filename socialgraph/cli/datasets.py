"""``socialgraph datasets list|info``: the dataset registry on the command line."""
from __future__ import annotations

import json

import typer

from socialgraph.data.errors import DataError

app = typer.Typer(help="""List datasets; show their counts, modalities and cards.

Datasets are read from $SOCIALGRAPH_DATA (default ~/.cache/socialgraph/data).

Examples:

  socialgraph datasets list

  socialgraph datasets info seal-usair --json
""", no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every known dataset: name, family, present here or not, license.

    "present" means its files are in the data root ($SOCIALGRAPH_DATA).

    Examples:

      socialgraph datasets list

      socialgraph datasets list --json
    """
    from socialgraph.data.registry import is_present, list_datasets

    rows = [{"name": c.name, "family": c.family, "present": is_present(c), "license": c.license}
            for c in list_datasets()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    widths = [max(len(r["name"]) for r in rows), max(len(r["family"]) for r in rows), 7]
    typer.echo(f"{'name':<{widths[0]}}  {'family':<{widths[1]}}  {'present':<7}  license")
    for r in rows:
        lic = r["license"] if len(r["license"]) <= 60 else r["license"][:57] + "..."
        typer.echo(f"{r['name']:<{widths[0]}}  {r['family']:<{widths[1]}}  {'yes' if r['present'] else 'no':<7}  {lic}")


@app.command("info")
def info(name: str = typer.Argument(..., help="Dataset name, as in `socialgraph datasets list`."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON."),
         verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the files' sha256 first.")) -> None:
    """Load a dataset and print its counts and modalities with its card.

    NAME is a name from `socialgraph datasets list`. Counts read from the
    files are shown next to the counts the dataset card expects.

    Examples:

      socialgraph datasets info seal-usair

      socialgraph datasets info lastfm-hetrec-2k --json
    """
    from socialgraph.data.registry import get_card, load_dataset

    try:
        card = get_card(name)
        summary = load_dataset(name, verify=verify).summary()
    except DataError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from err
    out = {**summary, "card": card.to_dict()}
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    typer.echo(f"{card.title} ({card.name}, family {card.family})")
    typer.echo(f"  home:    {card.homepage}\n  license: {card.license}")
    for key in ("users", "directed", "friend_edges", "friend_pairs", "items", "engagements"):
        exp = card.expected.get(key)
        typer.echo(f"  {key:<13}{summary[key]}" + (f"  (card: {exp})" if exp is not None else ""))
    typer.echo(f"  modalities: {summary['modalities']}")
