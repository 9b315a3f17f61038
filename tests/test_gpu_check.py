"""benchmarks/gpu_check.py, the one command a CUDA machine runs, works here on the CPU (``--device cpu --quick``):
every part runs and writes its numbers, and the CPU-vs-device agreement it reports is exact when both are the CPU."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_on_cpu(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--quick",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["device"] == "cpu" and set(report["parts"]) == {"agreement", "musae-facebook", "ogbl-ddi"}
    for name, part in report["parts"].items():
        assert "error" not in part, (name, part)
    a = report["parts"]["agreement"]
    assert a["auc_difference"] == 0 and a["hits50_difference"] == 0  # the same seed on the same device
    assert a["bundle_logit_max_abs_difference_cpu_vs_device"] == 0 and a["bundle_scores_agree"]
    m = report["parts"]["musae-facebook"]
    assert m["users"] == 1500 and {"fp32", "bf16"} <= set(m)
    for precision in ("fp32", "bf16"):
        assert 0.5 < m[precision]["auc"] <= 1 and m[precision]["train_seconds"] > 0
    d = report["parts"]["ogbl-ddi"]
    assert "skipped" in d or d["test_hits@20"] >= 0
