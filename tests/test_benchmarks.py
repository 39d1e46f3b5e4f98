"""The benchmark runner keeps working: its --quick mode runs in the suite on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_quick_benchmark_measures_every_figure_on_both_backends(tmp_path, pg_server):
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--backend", "both",
                             "--json", str(tmp_path / "result.json"), "--work", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    for backend in ("files", "postgres"):
        figures = report["backends"][backend]["figures"]
        assert set(report["targets"]) <= set(figures), backend
        assert figures["full_store"]["requests"] > 0 and figures["submissions_per_s"] > 0
        assert figures["export_district_csv"]["rows"] == figures["export_district_xlsx"]["rows"] > 0
    assert "submissions_per_s" in result.stdout  # the table is printed


def test_a_benchmark_whose_client_fails_fails_loudly(tmp_path, monkeypatch):
    """Each client sends its first form again: the server answers 200 (a replay), not 201, and the run stops
    with that error instead of printing figures over requests that did not do what was measured."""
    import importlib
    monkeypatch.syspath_prepend(str(ROOT))
    runner = importlib.import_module("benchmarks.__main__")
    import loadgen  # the runner's own (it put benchmarks/ on the path)
    first = {}

    def same_body(self, village):
        return first.setdefault(village, original(self, village))

    original = runner.Submissions.body
    monkeypatch.setattr(runner.Submissions, "body", same_body)
    with pytest.raises(loadgen.LoadError, match="HTTP 200 .expected 201."):
        runner.main(["--quick", "--backend", "files", "--json", str(tmp_path / "r.json"),
                     "--work", str(tmp_path)])
    assert not (tmp_path / "r.json").exists()
