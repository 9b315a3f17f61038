"""Helpers shared by the command modules: failing with a clear message, checking an output path before any work,
writing a file atomically, switching third-party progress bars off, loading a graph, printing link metrics."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Mapping, NoReturn, Optional

import typer

# The link metrics every model and baseline is judged by (socialgraph.eval.link.evaluate_link_scores).
LINK_COLUMNS = ("hits@20", "hits@50", "hits@100", "mrr", "auc", "ap")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# ------------------------------------------------------------------------------------------------ output paths
def holds_bundle(path: Path) -> bool:
    """Whether the folder ``path`` holds a bundle written by ``socialgraph train`` (complete or damaged)."""
    # socialgraph.bundle.format.FORMAT, spelled out: that module loads torch, too slow for a check made before work.
    return _manifest_format(path) == "socialgraph-bundle"


def holds_suggestions(path: Path) -> bool:
    """Whether the folder ``path`` holds a suggestion job's output, finished or interrupted."""
    from socialgraph.jobs.output import FORMAT, PLAN

    return (path / PLAN).is_file() or _manifest_format(path) == FORMAT


def _manifest_format(path: Path) -> Optional[str]:
    try:
        return json.loads((path / "manifest.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):  # absent, unreadable, not JSON, not an object
        return None


def check_output(path: Path, kind: Literal["folder", "file"], *, overwrite: bool = False,
                 resume: Optional[bool] = None, noun: str = "a bundle", is_ours: Callable[[Path], bool] = holds_bundle,
                 option: str = "--out") -> None:
    """Exit with one ``error:`` line unless ``path`` can take a command's output. Call it before any work.

    Contract:
        * ``kind="file"``: ``path`` must not be a folder; an existing file needs ``overwrite`` (the command then
          replaces it atomically).
        * ``kind="folder"``: ``path`` must not be a file. An existing non-empty folder needs ``resume`` (the
          command finishes what it holds) or ``overwrite``; ``overwrite`` replaces only ``noun`` (``is_ours``), so
          that a folder of something else is never deleted. ``resume`` needs the folder; with ``overwrite`` it is
          refused. ``resume=None``: the command has no ``--resume`` (the messages do not offer it).
        * Missing parent folders are fine (the command creates them); the nearest existing one must be a writable
          folder, and so must an existing output folder.
    """
    if resume and overwrite:
        fail("--resume and --overwrite contradict each other: --resume finishes the job in --out, --overwrite "
             "replaces it; pass one of them")
    if kind == "file":
        _check_file(path, overwrite, option)
    else:
        _check_folder(path, overwrite, resume, noun, is_ours, option)
    _check_writable(path.parent, path, option)
    if path.is_dir():
        _check_writable(path, path, option)


def _check_file(path: Path, overwrite: bool, option: str) -> None:
    if path.is_dir():
        fail(f"{option} {path} is a folder; {option} expects a file name: give a file inside it, or another path")
    if path.exists() and not overwrite:
        fail(f"{option} {path} exists; pass --overwrite to replace it, or choose another file")


def _check_folder(path: Path, overwrite: bool, resume: Optional[bool], noun: str, is_ours: Callable[[Path], bool],
                  option: str) -> None:
    if path.exists() and not path.is_dir():
        fail(f"{option} {path} is a file; {option} expects a folder (it will hold {noun}): choose another path")
    if resume:
        if not path.is_dir():
            fail(f"{option} {path} does not exist, so there is nothing to resume; run without --resume")
        return
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not is_ours(path):
        fail(f"{option} {path} exists and is not {noun} (it holds {_listing(path)}); choose another folder "
             f"(--overwrite replaces only {noun}, never other files)")
    if not overwrite:
        finish = " (or --resume to finish it, if it was interrupted)" if resume is not None else ""
        fail(f"{option} {path} already holds {noun}; pass --overwrite to replace it{finish}, or choose another "
             f"folder")


def _listing(path: Path, shown: int = 3) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _check_writable(folder: Path, path: Path, option: str) -> None:
    """``folder``, or its nearest existing ancestor when it is still to be created, must be a writable folder."""
    here = folder
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        fail(f"cannot create {option} {path}: {here} is a file, not a folder; choose another path")
    if not os.access(here, os.W_OK | os.X_OK):
        fail(f"cannot write {option} {path}: {here} is read-only (permission denied); choose another path or "
             f"make it writable")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """An :class:`OSError` raised in the block without a file name (a full disk while writing) is given
    ``path``'s, so that its one-line message says what was being written."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a hidden sibling of ``path``, then rename it to ``path``: readers never see half a
    file, and on any failure (a full disk included) the temporary file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with writing(path):
        try:
            write(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


# ------------------------------------------------------------------------------------------------ progress bars
@contextlib.contextmanager
def progress_bars(show: bool) -> Iterator[None]:
    """Within the block, third-party progress bars are on (``show``) or off: Hugging Face hub and transformers
    (the sentence model's "Loading weights" bar). The project's own bars follow each call's ``progress=``
    argument. The previous state is restored afterwards, so nothing outlives the command."""
    if show:
        yield
        return
    try:
        import huggingface_hub.utils as hub
        import transformers.utils.logging as tf
    except ImportError:  # the optional text extra is absent: neither library can draw a bar
        yield
        return
    hub_was_off, tf_was_on = hub.are_progress_bars_disabled(), tf.is_progress_bar_enabled()
    tf.disable_progress_bar()  # the hub's bars too
    try:
        yield
    finally:
        if tf_was_on:
            tf.enable_progress_bar()
        if hub_was_off:
            hub.disable_progress_bars()
        else:
            hub.enable_progress_bars()


# ------------------------------------------------------------------------------------------------ input, tables
def load_graph(dataset: Optional[str], data: Optional[Path]):
    """The graph named by exactly one of ``--dataset NAME`` / ``--data DIR``, or a clean exit with the reason."""
    from socialgraph.data import load

    if (dataset is None) == (data is None):
        fail("give exactly one of --dataset NAME or --data DIR")
    if data is not None and not Path(data).is_dir():
        fail(f"{data}: not a folder; --data expects a folder holding friends.csv (see docs/data-format.md)")
    return load(str(data) if data is not None else dataset)


def metrics_table(rows: Iterable[tuple[str, Mapping[str, float]]], *, width: int = 10) -> list[str]:
    """A header line and one line per ``(name, metrics)`` with every column of :data:`LINK_COLUMNS`."""
    lines = [f"{'method':{width}s}" + "".join(f"{c:>10s}" for c in LINK_COLUMNS)]
    lines += [f"{name:{width}s}" + "".join(f"{m[c]:10.4f}" for c in LINK_COLUMNS) for name, m in rows]
    return lines
