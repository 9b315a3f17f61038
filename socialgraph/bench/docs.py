"""Collect every suite's results into one page (``docs/benchmarks.md``) with its plots copied beside it.

The page is the hand-written introduction (``benchmarks/README.md`` intro is not repeated: :data:`INTRO` below is
the page's own) followed by each suite's markdown in :data:`ORDER`; PNGs are copied to ``<docs>/benchmarks/`` so
the mkdocs site can show them.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from socialgraph.bench.report import markdown, summarise, write_atomic

ORDER = ("social", "planetoid", "seal", "ogb", "engagement", "preference", "ablation", "speed")

INTRO = """# Benchmarks

Every number on this page is written by `socialgraph benchmark SUITE --out benchmarks/results` and collected here
by `socialgraph benchmark docs --out benchmarks/results`; nothing is typed in by hand except this introduction.

How to read it:

* In each suite the project's model (`model`) and every baseline run **in the same process, on the same split,
  against the same negatives, scored by the same evaluator**. Baselines: common neighbours (`cn`), Adamic-Adar
  (`aa`), resource allocation (`ra`), personalised PageRank (`ppr`) from `socialgraph.eval.heuristics`; plain PyG
  graph autoencoders (`gcn-gae`, `sage-gae`: learned node embeddings, two convolutions, dot product, 300 full-batch
  epochs unless the suite's notes say `--baseline-epochs` capped them, best validation Hits@50 kept); `node2vec` (p = q = 1; 10 walks of 80 steps per node, window 10,
  128 dimensions, word2vec-style SGD on 3,000 window pairs per node; links scored by a logistic regression on the
  Hadamard product of the two embeddings, fitted on the observed pairs, as in SEAL's node2vec baseline); popularity
  and PyG `LightGCN` for engagement.
* Heuristics and message passing see the pairs *observed* at test time: training and validation links (OGB:
  training links only). Hyper-parameters are never chosen on test data; early stopping reads validation only.
* Rates are percentages; `a ± b` is mean ± standard deviation over seeds.
* "By degree bucket": a test pair's bucket is the smaller training degree of its two ends; negatives are shared.
* Published anchors come from the papers named in the tables; they were measured with other code and hardware and
  are landmarks, not same-run comparisons. Targets are the project's own; each table says whether the model reached
  them. What was tried where one is not reached (ogbl-ddi, three SEAL graphs) is in
  [the model-quality experiments](experiments.md): ogbl-ddi in round 12, the SEAL graphs in round 13.
* `node2vec` was replaced in commit `ef5a6de`. Before it, it trained one pass of 32,768-pair batches over 10 walks
  of 20 steps and scored links by the raw dot product (SEAL USAir test AUC 67.8; 90.8 after). A suite whose "Code"
  line names an older commit (`1600bc4` and before) shows that old `node2vec`.
* A suite's model differs from the defaults where its "Command" passes `--config` (the configuration is in the
  suite's `results.json`, `model_config`): the `ogb` suite runs ogbl-ddi with
  `benchmarks/configs/ogbl-ddi-cpu.yaml` (6 epochs of large steps), because on this 2-core CPU one default epoch
  takes over 15 minutes.
* The `social` suite ran with `--max-epochs 30` (the default trains up to 100 epochs with early stopping) to fit in
  about 100 minutes here, and at the default learning rate thirty epochs underfit the larger graphs: musae-facebook
  84.93 Hits@50 in this table, 88.1 with the defaults through the external `lp_check.py` tool (another split of the
  same protocol; `benchmarks/results/lp_check.json`, [the experiments](experiments.md)).
* Sections marked *(quick)* come from `--quick` runs (tiny model, two epochs, small graphs): they prove the suite runs,
  they measure nothing.
"""


def write_docs(results_dir: Path, docs_path: Path) -> Path:
    """Write ``docs_path`` from ``results_dir/<suite>/results.json`` and copy the PNGs to ``<docs>/benchmarks/``."""
    results_dir, docs_path = Path(results_dir), Path(docs_path)
    images = docs_path.parent / "benchmarks"
    parts = [INTRO]
    for suite in ORDER:
        j = results_dir / suite / "results.json"
        if not j.is_file():
            parts.append(f"## Suite `{suite}`\n\nNot run yet: `socialgraph benchmark {suite} --out {results_dir}`.\n")
            continue
        result = summarise(json.loads(j.read_text()))  # tables always follow the current report format
        copied = []
        for png in result.get("plots", []):
            src = results_dir / suite / png
            if src.is_file():
                images.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, images / png)
                copied.append(f"benchmarks/{png}")
        result["plots"] = copied
        parts.append(markdown(result))
    write_atomic(docs_path, "\n".join(parts))
    return docs_path
