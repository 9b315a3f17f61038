"""The documentation as a new user meets it: the site builds, generated pages are fresh, documented commands run.

* ``mkdocs build --strict`` succeeds (any warning, broken link or missing API object fails it);
* ``docs/reference/config.md`` and ``docs/reference/cli.md`` match what ``scripts/gen_docs.py`` makes of the code;
* every fenced ``bash`` block in README.md and docs/*.md runs as written, page by page in a scratch folder (blocks of
  a page share it, in order), with exit status 0; a block preceded by ``<!-- skip-test -->`` or calling ``make`` is
  left out, and a ``python`` block runs only when preceded by ``<!-- test -->``;
* every command's ``--help`` has examples, ``socialgraph --help`` gives each command one line, and common
  mistakes end in one ``error: ...`` line instead of a traceback.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SKIP = "<!-- skip-test -->"
RUN_PYTHON = "<!-- test -->"

sys.path.insert(0, str(ROOT / "scripts"))
import gen_docs  # noqa: E402


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    marker: str  # the HTML comment on the line before the fence, if any

    @property
    def runnable(self) -> bool:
        if self.marker == SKIP:
            return False
        if self.lang == "bash":
            return not any(re.match(r"\s*make(\s|$)", c) for c in self.code.splitlines())
        return self.lang == "python" and self.marker == RUN_PYTHON


def blocks(page: Path) -> list[Block]:
    """Fenced code blocks of a Markdown page, with the marker comment that precedes each."""
    out, lines = [], page.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        start, body = i, []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][len(m.group(1)):])
            i += 1
        out.append(Block(page, start + 1, m.group(2), "\n".join(body), prev if prev.startswith("<!--") else ""))
        i += 1
    return out


def _rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = {_rel(p): [b for b in blocks(p) if b.runnable] for p in PAGES}
RUNNABLE = {k: v for k, v in RUNNABLE.items() if v}


def test_pages_have_runnable_commands():
    assert "README.md" in RUNNABLE and "docs/getting-started.md" in RUNNABLE, sorted(RUNNABLE)


@pytest.mark.parametrize("page", sorted(RUNNABLE))
def test_documented_commands_run(page, tmp_path):
    """Each runnable block of the page, in order, in one scratch folder where `.venv/` is this environment."""
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1",
           "OMP_NUM_THREADS": "1", "SOCIALGRAPH_CACHE": str(tmp_path / ".cache")}
    for b in RUNNABLE[page]:
        where = f"{page}:{b.line}"
        if b.lang == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", b.code]
        else:
            cmd = [sys.executable, "-c", b.code]
        res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"{where}: block failed ({res.returncode}):\n{b.code}\n--- stdout\n" \
                                    f"{res.stdout[-3000:]}\n--- stderr\n{res.stderr[-3000:]}"


def test_shell_blocks_call_the_venv_command():
    """Commands are written as in the README, `.venv/bin/socialgraph ...`, so they run from a fresh checkout."""
    bare = [f"{_rel(b.page)}:{b.line}: {line.strip()}" for p in PAGES for b in blocks(p) if b.lang == "bash"
            for line in b.code.splitlines() if re.match(r"\s*(socialgraph|mkdocs|pytest|python)\s", line)]
    assert not bare, "write .venv/bin/<command>:\n" + "\n".join(bare)


def test_reference_pages_are_up_to_date():
    assert gen_docs.main(["--check"]) == 0, "run: .venv/bin/python scripts/gen_docs.py"


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    mkdocs = shutil.which("mkdocs", path=str(VENV_BIN)) or "mkdocs"
    res = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    site = tmp_path / "site"
    for page in ("index.html", "getting-started/index.html", "concepts/index.html", "reference/api/index.html",
                 "reference/config/index.html", "reference/cli/index.html", "contributing/index.html"):
        assert (site / page).is_file(), page
    api = (site / "reference/api/index.html").read_text()
    for name in ("socialgraph.predictor.Predictor", "socialgraph.data.graph.SocialGraph", "socialgraph.data.load",
                 "socialgraph.train.trainer.Trainer", "socialgraph.bundle.fitted.FittedModel",
                 "socialgraph.bundle.format.save_bundle", "socialgraph.bundle.format.load_bundle",
                 "socialgraph.eval.metrics.hits_at_k", "socialgraph.eval.heuristics.score_pairs"):
        assert f'id="{name}"' in api, name


# --------------------------------------------------------------------------- the command line's own help

_, COMMANDS = gen_docs._commands()


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_help_has_examples(path):
    text = gen_docs.cli_help(path[1:])
    assert "Examples:" in text
    examples = text.split("Examples:", 1)[1]
    assert f"socialgraph {' '.join(path[1:])}".strip() in examples


def test_root_help_gives_each_command_one_line():
    root = next(cmd for p, cmd in COMMANDS if p == ["socialgraph"])
    text = gen_docs.cli_help([])
    for name, cmd in root.commands.items():
        summary = (cmd.help or "").strip().split("\n\n")[0]
        assert "\n" not in summary and len(summary) <= 65, f"{name}: first help line too long: {summary!r}"
        assert f"{name}  " in text and summary.split()[0] in text


# --------------------------------------------------------------------------- common mistakes

@pytest.mark.parametrize("args, says", [
    (["train", "--data", "{tmp}"], "--out"),
    (["suggest", "--model", "{tmp}/nope"], "--out"),
    (["train", "--data", "{tmp}/nope", "--out", "{tmp}/m"], "not a folder"),
    (["baseline", "--data", "{tmp}/nope"], "not a folder"),
    (["train", "--dataset", "no-such-dataset", "--out", "{tmp}/m"], "socialgraph datasets list"),
    (["datasets", "info", "no-such-dataset"], "socialgraph datasets list"),
    (["score", "--model", "{tmp}/nope", "--pairs", "{tmp}/bad.csv", "--out", "{tmp}/s.csv"], "src,dst"),
    (["score", "--model", "{tmp}/nope", "--pairs", "{tmp}/missing.csv", "--out", "{tmp}/s.csv"], "missing.csv"),
    (["score", "--model", "{tmp}/nope", "--pairs", "{tmp}/good.csv", "--out", "{tmp}/s.csv"], "socialgraph train"),
    (["evaluate", "--model", "{tmp}/nope"], "socialgraph train"),
    (["explain", "--model", "{tmp}/nope", "1", "2"], "socialgraph train"),
    (["train", "--epochs", "many", "--out", "{tmp}/m"], "--epochs"),
    (["trian"], "No such command"),
])
def test_common_mistakes_print_one_error_line(args, says, tmp_path):
    from socialgraph.cli.main import app

    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    (tmp_path / "good.csv").write_text("src,dst\n1,2\n")
    res = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], res.output
    assert "Traceback" not in res.output
