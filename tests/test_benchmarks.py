"""Tests of benchmarks/run_all.py and its benchmarks (quick mode, end to end)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
QUICK = ["features", "training", "memory", "scaling"]
MACHINE_KEYS = {
    "cpu",
    "cores_available",
    "python",
    "numpy",
    "librosa",
    "scikit-learn",
    "torch",
    "torch_threads",
    "gpu",
}


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f"_bench_{name}_under_test", BENCH / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One `run_all.py --quick` into a temporary folder, shared by the tests."""
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, {
        name: json.loads((out / f"{name}.json").read_text())
        for name in [*QUICK, "run_all"]
    }


@pytest.mark.slow  # the quick run takes ~90 s
def test_quick_run_writes_every_result(quick_run):
    """Check the quick run writes each JSON, the index and the summary."""
    out, results = quick_run
    for name in QUICK:
        data = results[name]
        assert data["benchmark"] == name
        assert data["quick"] is True
        assert MACHINE_KEYS <= set(data["machine"])
        assert data["machine"]["torch_threads"] == 1
        assert _positive(data["machine"]["cores_available"])
    index = results["run_all"]
    assert [r["name"] for r in index["runs"]] == QUICK
    assert all(r["returncode"] == 0 and _positive(r["seconds"]) for r in index["runs"])
    assert MACHINE_KEYS <= set(index["machine"])
    summary = (out / "summary.md").read_text()
    assert "quick mode" in summary and "do not quote" in summary
    for title in (
        "## Feature extraction",
        "## Training and inference",
        "## Peak memory of `score_files`",
        "## Fit time vs number of training clips",
    ):
        assert title in summary
    assert "nan" not in summary.lower().split()
    assert "Not run in this invocation: end_to_end." in summary


@pytest.mark.slow  # the quick run takes ~90 s
def test_quick_features_and_training_figures(quick_run):
    """Check the throughput figures are positive finite numbers."""
    _, results = quick_run
    features = results["features"]
    assert len(features["rows"]) == 6
    for row in features["rows"]:
        assert _positive(row["clips_per_s"]) and _positive(row["speedup_vs_loop"])
    assert features["max_abs_diff_db_vs_librosa"] <= 1e-4
    training = results["training"]
    assert [r["model"].split()[0] for r in training["rows"]] == [
        "MobileNetV2",
        "dual-branch",
    ]
    for row in training["rows"]:
        for key in (
            "train_patches_per_s",
            "score_clips_per_s_hop8",
            "score_clips_per_s_hop32",
            "score_clips_per_s_shared",
            "peak_rss_mb_after_scoring",
        ):
            assert _positive(row[key]), key
    assert math.isfinite(training["dual_training_overhead"])


@pytest.mark.slow  # the quick run takes ~90 s
def test_quick_memory_is_bounded(quick_run):
    """Check chunked scoring grows less than scoring everything in one chunk."""
    _, results = quick_run
    memory = results["memory"]
    small, large = memory["rows"]
    assert (small["n_clips"], large["n_clips"]) == (100, 1000)
    assert memory["chunk_size"] == 64 and memory["smallest_n_fills_a_chunk"]
    for row in memory["rows"]:
        assert _positive(row["baseline_rss_mb"])
        assert row["peak_rss_mb"] >= row["baseline_rss_mb"]
        assert _positive(row["score_clips_per_s"])
        assert row["max_abs_diff_repeated_files"] <= 1e-6
    assert _positive(memory["peak_ratio_largest_vs_smallest"])
    assert _positive(memory["all_in_memory_mb_per_1000_clips"])
    contrast = memory["contrast_one_chunk"]
    assert contrast["n_clips"] == contrast["chunk_size"] == 1000
    # one chunk of 1,000 clips holds 61 MB of waveforms at once: it must show
    assert contrast["growth_mb"] > 0.3 * contrast["all_in_memory_mb"]
    assert large["growth_mb"] < contrast["growth_mb"]


@pytest.mark.slow  # the quick run takes ~90 s
def test_quick_scaling_line(quick_run):
    """Check the scaling benchmark fits a line through its three fits."""
    _, results = quick_run
    scaling = results["scaling"]
    assert [r["n_clips"] for r in scaling["rows"]] == [50, 100, 200]
    for row in scaling["rows"]:
        assert _positive(row["fit_seconds"]) and _positive(row["train_patches_per_s"])
        assert row["train_patches_per_epoch"] > 0
    line = scaling["line"]
    assert _positive(line["seconds_per_1000_clips"])
    assert math.isfinite(line["intercept_seconds"]) and line["r2"] <= 1.0
    assert _positive(scaling["per_clip_time_ratio_largest_vs_smallest"])


def test_fit_line_exact_and_noisy():
    """Check the least-squares line and R^2 used by the scaling benchmark."""
    fit_line = _load("bench_scaling").fit_line
    slope, intercept, r2 = fit_line(
        [100, 1000, 5000], [1.5 + 0.02 * n for n in (100, 1000, 5000)]
    )
    assert slope == pytest.approx(0.02) and intercept == pytest.approx(1.5)
    assert r2 == pytest.approx(1.0)
    x = np.arange(10.0)
    y = 2 * x + np.array([1, -1] * 5)
    slope, intercept, r2 = fit_line(x, y)
    expected = 1 - np.sum((y - np.polyval(np.polyfit(x, y, 1), x)) ** 2) / np.sum(
        (y - y.mean()) ** 2
    )
    assert r2 == pytest.approx(expected) and 0.9 < r2 < 1.0
    with pytest.raises(ValueError, match="two different x"):
        fit_line([5, 5], [1, 2])
    with pytest.raises(ValueError, match="equal length"):
        fit_line([1, 2, 3], [1, 2])


def test_run_all_summary_reports_failures_and_bad_numbers():
    """Check a failed benchmark is listed and NaN results are rejected."""
    run_all = _load("run_all")
    index = {
        "quick": False,
        "command": "python benchmarks/run_all.py",
        "machine": {
            "cpu": "test CPU",
            "cores_available": 2,
            "torch_threads": 2,
            "OMP_NUM_THREADS": None,
            "gpu": None,
            "date": "2026-01-01 00:00 UTC",
            **dict.fromkeys(
                ["python", "numpy", "scikit-learn", "librosa", "torch", "skorch"],
                "1.0",
            ),
            "sklearn_asd": "0.1",
        },
        "total_seconds": 3.0,
        "runs": [
            {
                "name": "memory",
                "command": ["python", "benchmarks/bench_memory.py"],
                "returncode": 1,
                "seconds": 1.0,
                "json": "memory.json",
            }
        ],
    }
    text = run_all.summary_markdown(index, {})
    assert "## memory: FAILED (exit code 1)" in text
    assert "full mode" in text and "do not quote" not in text
    assert "Not run in this invocation: features, training, scaling, end_to_end" in text
    with pytest.raises(ValueError, match=r"x\.rows\[1\]\.fit_seconds is nan"):
        run_all._check_numbers(
            {"rows": [{"fit_seconds": 1.0}, {"fit_seconds": math.nan}]}, "x"
        )
    with pytest.raises(SystemExit):
        run_all.main(["--only", "no_such_benchmark"])


def test_memory_and_scaling_reject_bad_sizes(capsys):
    """Check bad sizes stop the benchmarks before any work, with a message."""
    memory, scaling = _load("bench_memory"), _load("bench_scaling")
    for main, argv, message in [
        (memory.main, ["--n-clips", "1000"], "two or more different positive"),
        (memory.main, ["--n-train", "500", "--n-distinct", "10"], "--n-train must"),
        (scaling.main, ["--n-clips", "4", "100"], "each >= 8"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc"
)
def test_peak_rss_reset():
    """Check the high-water mark sees a freed allocation and can be reset."""
    machine = _load("_machine")
    before = machine.current_rss_mb()
    block = np.ones(40 * 2**20 // 8)  # 40 MiB, touched
    del block
    assert machine.peak_rss_mb() >= before + 35
    if not machine.reset_peak_rss():
        pytest.skip("this kernel does not allow resetting VmHWM")
    assert machine.peak_rss_mb() <= machine.current_rss_mb() + 1.0
