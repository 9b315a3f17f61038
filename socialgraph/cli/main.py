"""The ``socialgraph`` command line: one sub-command module per task, wired together here.

The entry point (:class:`_Group`) is where the process meets the user: usage mistakes, bad input and a full disk
end in one ``error: ...`` line and exit status 2, and warnings read ``warning: ...`` like errors. Only this process
gets that treatment; the library keeps raising and warning as Python does.
"""
from __future__ import annotations

import errno
import sys
import traceback
import warnings
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from socialgraph.cli import baseline, benchmark, datasets, demo, explain, serve, suggest, synth, train

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

# The project's bad-input errors, by module. Looked up only in modules already imported (an error of a class can
# only be raised once its module is loaded), so that `socialgraph --help` does not import torch.
_INPUT_ERRORS = {"socialgraph.data.errors": "DataError", "socialgraph.config": "ConfigError",
                 "socialgraph.bundle.format": "BundleError", "socialgraph.jobs.output": "JobError",
                 "socialgraph.predictor.predictor": "UnknownUserError"}
_PACKAGE = Path(__file__).resolve().parents[1]


class _Group(TyperGroup):
    """Reports usage mistakes (a missing option, an unknown option or command, a bad value), bad input and
    failed writes as one line, ``error: ...`` plus what to do, and warnings as ``warning: ...``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        with warnings.catch_warnings():  # restores the previous showwarning when the command ends
            warnings.showwarning = _show_warning
            sys.exit(self._run(args, prog_name, complete_var, **extra))

    def _run(self, args, prog_name, complete_var, **extra) -> int:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickException as err:
            if err.__class__.__name__ != "NoArgsIsHelpError":  # the help was printed already
                ctx = getattr(err, "ctx", None)
                hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
                typer.echo(f"error: {err.format_message()}{hint}", err=True)
            return err.exit_code
        except (typer.Abort, _Abort):
            typer.echo("aborted", err=True)
            return 1
        except Exception as err:  # noqa: BLE001 - sorted into the user's mistakes and our bugs below
            message = _input_error_message(err)
            if message is None:
                traceback.print_exc()
                typer.echo(f"error: unexpected {type(err).__name__}; this is a bug in socialgraph: please report "
                           f"it with the command line and the traceback above", err=True)
                return 1
            typer.echo(f"error: {message}", err=True)
            return 2
        return rv if isinstance(rv, int) else 0


def _input_error_message(err: Exception) -> Optional[str]:
    """The one-line message for an error caused by the input or the machine, ``None`` for a bug."""
    if isinstance(err, OSError):
        return _os_error_message(err)
    types = tuple(getattr(sys.modules[m], name) for m, name in _INPUT_ERRORS.items() if m in sys.modules)
    if isinstance(err, types) or (type(err) is ValueError and _raised_by_project(err)):
        return " ".join(str(err).split())
    return None


def _raised_by_project(err: BaseException) -> bool:
    """Whether a ``raise`` statement of this package raised ``err`` (argument validation), rather than a failure
    deep in numpy or torch, which is a bug to show with its traceback."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    return Path(last.filename).resolve().is_relative_to(_PACKAGE) and (last.line or "").startswith("raise")


def _os_error_message(err: OSError) -> str:
    name = err.filename or "the output"
    if err.errno == errno.ENOSPC:
        return f"disk full while writing {name}: free space (or choose another --out) and rerun"
    if err.errno == errno.EROFS:
        return f"cannot write {name}: read-only file system; choose another --out"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"cannot open {name}: permission denied; fix its permissions or choose another path"
    return f"{name}: {err.strerror or err}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warning: <message>`` on one line. The project's warnings name the data file and line themselves; the
    Python source line that issued a warning means nothing to the user. A deprecation notice one library gives
    another (PyG importing ``torch.jit.script``) is for their developers, not for the user: it is not shown."""
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)) and \
            not Path(filename).resolve().is_relative_to(_PACKAGE):
        return
    typer.echo(f"warning: {' '.join(str(message).split())}", err=True)


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
app.command("serve")(serve.serve)
app.command("synth")(synth.synth)
app.command("demo")(demo.demo)

if __name__ == "__main__":
    app()
