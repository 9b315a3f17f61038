"""The ``socialgraph`` command line: one sub-command module per task, wired together here."""
from __future__ import annotations

import typer

from socialgraph.cli import baseline, benchmark, datasets, demo, explain, suggest, synth, train

app = typer.Typer(
    name="socialgraph",
    help="Predict social relationships: datasets, baselines, training, scoring, suggestions, benchmarks.",
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
