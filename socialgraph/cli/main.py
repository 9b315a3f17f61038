"""The ``socialgraph`` command line: one sub-command module per task, wired together here."""
from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from socialgraph.cli import baseline, benchmark, datasets, demo, explain, suggest, synth, train

HELP = """Predict social relationships: datasets, baselines, training, scoring, suggestions, benchmarks.

Run `socialgraph COMMAND --help` for a command's options and examples.

Examples:

  socialgraph datasets list

  socialgraph demo

  socialgraph train --dataset lastfm-hetrec-2k --out models/lastfm

  socialgraph suggest --model models/lastfm --k 20 --out suggestions/
"""


# Typer vendors click; take its exception classes from the public ones rather than a private module.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_Abort = getattr(sys.modules[_ClickException.__module__], "Abort", typer.Abort)


class _Group(TyperGroup):
    """Reports usage mistakes (a missing option, an unknown option or command, a bad value) as one line,
    ``error: ...`` plus where to look, like every other error of the command line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickException as err:
            if err.__class__.__name__ != "NoArgsIsHelpError":  # the help was printed already
                ctx = getattr(err, "ctx", None)
                hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
                typer.echo(f"error: {err.format_message()}{hint}", err=True)
            sys.exit(err.exit_code)
        except (typer.Abort, _Abort):
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="socialgraph",
    cls=_Group,
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(datasets.app, name="datasets")
app.command("baseline")(baseline.baseline)
app.command("train", help=train.TRAIN_HELP)(train.train)
app.command("evaluate")(train.evaluate)
app.command("score")(train.score)
app.command("benchmark")(benchmark.benchmark)
app.command("suggest")(suggest.suggest)
app.command("explain")(explain.explain)
app.command("synth")(synth.synth)
app.command("demo")(demo.demo)

if __name__ == "__main__":
    app()
