"""Tests of ``sklearn-asd ablation`` (and the benchmarks/ablation.py wrapper).

--quick end to end, resume, interruptions, usage errors.
"""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _trees import write_clips

from sklearn_asd._ablation import _store
from sklearn_asd._ablation._config import QUICK
from sklearn_asd.datasets import make_machine_sounds

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "ablation.py"
# every row that needs no optional package (the PyOD rows are tested apart)
CORE_ROWS = ["mbv2", "cl", "mf", "cl_mf", "ae", "iforest", "iforest_mf"]
TINY = [
    "--param=mel__n_mels=16",
    "--param=mel__n_fft=256",
    "--param=mel__hop_length=128",
    "--param=load__duration=0.5",
    "--param=det__width=0.25",
    "--param=det__last_channel=16",
    "--param=det__patch_frames=8",
    "--param=det__patch_hop=4",
    "--param=det__max_epochs=1",
    "--param=det__batch_size=16",
]


@pytest.fixture(scope="module")
def script():
    """The benchmarks/ablation.py wrapper, imported as a module."""
    spec = importlib.util.spec_from_file_location("_ablation_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ablation(argv):
    """Run ``sklearn-asd ablation ARGV``; return its exit status."""
    from sklearn_asd.cli import main

    return main(["ablation", *argv])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _keys(cells):
    return [(c["machine_type"], c["row"], c["seed"]) for c in cells]


def _write_tree(root, machines, n_sections, *, train=True):
    """A tiny DCASE 2021 tree: <machine>/{train,source_test}/section_*.wav."""
    for k, machine in enumerate(machines):
        kw = {"n_sections": n_sections, "duration": 0.5, "machine_random_state": k}
        test = make_machine_sounds(n_normal=4, n_anomalous=4, random_state=10 + k, **kw)
        write_clips(root, test, split="test", machine=machine, subtype="PCM_16")
        if train:
            sounds = make_machine_sounds(
                n_normal=6, n_anomalous=0, random_state=k, **kw
            )
            write_clips(root, sounds, split="train", machine=machine, subtype="PCM_16")
    return root


def test_quick_end_to_end_resume_and_interruptions(tmp_path, monkeypatch, capsys):
    """Check --quick fills every cell, resumes, and survives interruptions."""
    from sklearn.ensemble import IsolationForest

    from sklearn_asd._neural import _NeuralDetector

    out = tmp_path / "out"
    # one seed of the two of --quick keeps this test short; the rest is --quick
    argv = ["--quick", "--out", str(out), "--rows", *CORE_ROWS, "--seeds", "0"]
    cells_path, scores_path = (
        out / "ablation_quick.csv",
        out / "ablation_quick_scores.csv",
    )
    n_test = QUICK["n_test_normal"] + QUICK["n_test_anomalous"]

    # 1) Ctrl-C during the third neural fit: the two finished cells are kept
    real_fit = _NeuralDetector.fit
    calls = []

    def interrupted_fit(self, *args, **kwargs):
        calls.append(type(self).__name__)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(_NeuralDetector, "fit", interrupted_fit)
    assert ablation(argv) == 130
    assert "interrupted: 2 cell(s) computed" in capsys.readouterr().out
    cells = _read(cells_path)
    assert _keys(cells) == [("toy_a", "mbv2", "0"), ("toy_a", "cl", "0")]
    assert len(_read(scores_path)) == 2 * n_test
    monkeypatch.setattr(_NeuralDetector, "fit", real_fit)

    # 2) Ctrl-C between saving a cell's scores and the cell itself: the scores
    # are orphans, the cell is not there, and nothing is half written
    real_write = _store._write_atomic

    def interrupted_write(path, text):
        if Path(path) == cells_path:
            raise KeyboardInterrupt
        return real_write(path, text)

    monkeypatch.setattr(_store, "_write_atomic", interrupted_write)
    assert ablation(argv) == 130
    assert _read(cells_path) == cells
    assert len(_read(scores_path)) == 3 * n_test
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(_store, "_write_atomic", real_write)

    # 3) rerun: only the missing cells are computed
    assert ablation(argv) == 0
    log = capsys.readouterr().out
    expected = {(m, r, s) for m in QUICK["machines"] for r in CORE_ROWS for s in "0"}
    n_cells = len(expected)
    assert f"computed {n_cells - 2} cell(s), skipped 2 finished cell(s)" in log
    cells = _read(cells_path)
    assert len(cells) == n_cells and set(_keys(cells)) == expected
    for c in cells:
        assert c["status"] == "ok", c
        for metric in ("official", "auc", "pauc"):
            assert 0.0 <= float(c[metric]) <= 1.0, c
        assert int(c["n_train"]) == QUICK["n_train"]
        seed_row = c["row"] in ("mbv2", "cl", "mf", "cl_mf")
        assert c["classes"] == ("section" if seed_row else "-")
    scores = _read(scores_path)
    # the orphan scores were replaced, not duplicated
    assert len(scores) == n_cells * n_test
    assert len(
        {(s["machine_type"], s["row"], s["seed"], s["file"]) for s in scores}
    ) == len(scores)
    assert np.isfinite([float(s["score"]) for s in scores]).all()
    # the cell values are those of the saved scores
    from sklearn.metrics import roc_auc_score

    c = next(c for c in cells if _keys([c])[0] == ("toy_b", "cl_mf", "0"))
    mine = [
        s
        for s in scores
        if (s["machine_type"], s["row"], s["seed"]) == ("toy_b", "cl_mf", "0")
    ]
    assert float(c["auc"]) == pytest.approx(
        roc_auc_score(
            [int(s["target"]) for s in mine], [float(s["score"]) for s in mine]
        )
    )
    assert {s["kind"] for s in mine} == {
        "",
        "click",
        "harmonic",
        "modulation",
        "friction",
    }

    md = (out / "ablation_quick.md").read_text()
    for label in ("MBv2", "+CL", "+MF", "+CL,MF", "AE baseline", "IsolationForest"):
        assert f"| {label} |" in md
    assert "| row | median filter | click | friction | harmonic | modulation |" in md
    assert "n/a" not in md.split("## AUC per anomaly kind")[0]
    meta = json.loads((out / "ablation_quick.json").read_text())
    assert meta["runs"][-1]["machine"]["cores_available"] >= 1
    assert meta["runs"][-1]["command"].startswith("sklearn-asd ablation --quick ")
    assert meta["runs"][-1]["machine"]["torch"]

    # 4) a third run computes nothing: no fit at all, identical CSV
    before = cells_path.read_bytes()

    def no_fit(self, *args, **kwargs):
        raise AssertionError("a finished cell was fitted again")

    monkeypatch.setattr(_NeuralDetector, "fit", no_fit)
    monkeypatch.setattr(IsolationForest, "fit", no_fit)
    assert ablation(argv) == 0
    log = capsys.readouterr().out
    assert f"computed 0 cell(s), skipped {n_cells} finished cell(s)" in log
    assert cells_path.read_bytes() == before
    # only runs that computed cells are listed (the interrupted ones wrote no json)
    assert len(json.loads((out / "ablation_quick.json").read_text())["runs"]) == 1


def test_changed_configuration_is_refused(tmp_path, capsys):
    """Check a rerun with other parameters does not mix cells into old results."""
    argv = ["--quick", "--out", str(tmp_path), "--rows", "iforest", "--seeds", "0"]
    assert ablation(argv) == 0
    before = (tmp_path / "ablation_quick.csv").read_bytes()
    capsys.readouterr()
    assert ablation([*argv, "--param", "stats__statistics=('mean',)"]) == 2
    assert "computed with another configuration" in capsys.readouterr().err
    assert (tmp_path / "ablation_quick.csv").read_bytes() == before


def test_pyod_rows_skipped_when_missing(tmp_path, monkeypatch, capsys):
    """Check missing PyOD rows are recorded as skipped, and retried later."""
    monkeypatch.setitem(sys.modules, "pyod", None)  # import pyod -> ImportError
    argv = [
        "--quick",
        "--out",
        str(tmp_path),
        "--seeds",
        "0",
        "--rows",
        "iforest",
        "pyod_emb",
        "pyod_ae",
    ]
    assert ablation(argv) == 0
    cells = {
        (c["machine_type"], c["row"]): c for c in _read(tmp_path / "ablation_quick.csv")
    }
    for machine in QUICK["machines"]:
        assert cells[machine, "iforest"]["status"] == "ok"
        for row in ("pyod_emb", "pyod_ae"):
            assert cells[machine, row]["status"] == "skipped"
            assert "pyod is not installed" in cells[machine, row]["note"]
            assert cells[machine, row]["auc"] == ""
    md = (tmp_path / "ablation_quick.md").read_text()
    assert "| PyOD AudioAE | skipped | skipped |" in md
    capsys.readouterr()
    assert ablation(argv) == 0  # skipped cells are retried, not "finished"
    assert "computed 4 cell(s), skipped 2 finished cell(s)" in capsys.readouterr().out


def test_single_section_machine_types(tmp_path):
    """Check one-section machine types: n/a per machine, pooled classes across."""
    root = _write_tree(tmp_path / "data", ["fan", "pump"], n_sections=1)
    rows = ["--rows", "mbv2", "iforest", "--seeds", "0"]
    out = tmp_path / "per_machine"
    argv = [str(root), "--out", str(out), "--classes", "section", *rows, *TINY]
    assert ablation(argv) == 0
    cells = {(c["machine_type"], c["row"]): c for c in _read(out / "ablation.csv")}
    for machine in ("fan", "pump"):
        assert cells[machine, "mbv2"]["status"] == "n/a"
        assert "needs >= 2 sections" in cells[machine, "mbv2"]["note"]
        assert cells[machine, "iforest"]["status"] == "ok"
    assert "| MBv2 | n/a | n/a | n/a |" in (out / "ablation.md").read_text()

    out = tmp_path / "pooled"
    argv = [str(root), "--out", str(out), *rows, *TINY]  # --classes auto
    assert ablation(argv) == 0
    cells = {(c["machine_type"], c["row"]): c for c in _read(out / "ablation.csv")}
    fan, pump = cells["fan", "mbv2"], cells["pump", "mbv2"]
    for c in (fan, pump):
        assert c["status"] == "ok" and c["classes"] == "machine_section"
        assert "one model over 2 machine types" in c["note"]
        assert 0.0 <= float(c["auc"]) <= 1.0
    assert fan["seconds"] == pump["seconds"]  # one fit for both
    assert cells["fan", "iforest"]["classes"] == "-"


def test_usage_errors(tmp_path, capsys):
    """Check bad command lines and trees get a one-line error and exit code 2."""
    root = _write_tree(tmp_path / "data", ["fan"], n_sections=2, train=False)
    cases = [
        ([str(root)], "'fan' has no train clips"),
        (["--quick", "--rows", "nope"], "unknown row(s) ['nope']"),
        (["--quick", "--param", "det__max_epochs"], "expected [ROW:]STEP__NAME"),
        (
            ["--quick", "--rows", "iforest", "--param", "det__max_epochs=2"],
            "no selected row has this parameter",
        ),
        (["--quick", "--param", "ae:mel__n_mels=8"], "features are shared"),
        ([], "give DATA_ROOT, or --quick"),
        (["--quick", "--device", "tpu0"], "--device 'tpu0'"),
        (["--quick", "--seeds", "0", "0"], "--seeds must be distinct"),
        ([str(tmp_path / "missing")], "does not exist"),
    ]
    for argv, message in cases:
        assert ablation([*argv, "--out", str(tmp_path / "o")]) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err


def test_help_lists_the_options(capsys):
    """Check ``sklearn-asd ablation --help`` shows the train-style flags."""
    from sklearn_asd.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["ablation", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: sklearn-asd ablation")
    for flag in ("--machine-type NAME", "--seeds", "--device", "--quick", "--rows"):
        assert flag in text, flag
    assert "--machine-types" not in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "ablation" in capsys.readouterr().out


def test_script_wrapper(script, tmp_path, capsys):
    """Check benchmarks/ablation.py: --machine-types alias, default --out."""
    argv = script.translate(["ROOT", "--machine-types", "fan", "pump", "--rows", "ae"])
    assert argv[:5] == ["ROOT", "--machine-type", "fan", "--machine-type", "pump"]
    assert "deprecated" in capsys.readouterr().err
    assert script.translate(["--quick"]) == ["--quick", "--out", str(script.RESULTS)]
    assert script.translate(["--quick", "--out=x"]) == ["--quick", "--out=x"]
    root = _write_tree(tmp_path / "data", ["fan"], n_sections=2)
    argv = [str(root), "--machine-types", "pump", "--out", str(tmp_path / "o")]
    assert script.main(argv) == 2
    err = capsys.readouterr().err
    assert "sklearn-asd ablation: error:" in err and "pump" in err
    assert not (tmp_path / "o" / "ablation.csv").exists()


@pytest.mark.network
def test_real_clips_pooled_over_machine_types(shared_datasets, tmp_path):
    """Check the real DCASE 2023 sample runs: one section each -> pooled classes."""
    root = shared_datasets / "dcase2023t2-dev-sample"
    out = tmp_path / "real"
    argv = [
        str(root),
        "--out",
        str(out),
        "--machine-type",
        "fan",
        "--machine-type",
        "ToyCar",
        "--machine-type",
        "valve",
        "--rows",
        "mbv2",
        "iforest",
        "--seeds",
        "0",
        *TINY,
        "--param=load__duration=2.0",
    ]
    assert ablation(argv) == 0
    cells = {(c["machine_type"], c["row"]): c for c in _read(out / "ablation.csv")}
    assert cells["fan", "mbv2"]["classes"] == "machine_section"
    # ToyCar's two test clips are both normal: AUC undefined, said so
    assert cells["ToyCar", "iforest"]["auc"] == ""
    assert "0 anomalous clips" in cells["ToyCar", "iforest"]["note"]
    # 1 normal vs 1 anomaly (IsolationForest ties them after 2 training clips)
    assert cells["fan", "iforest"]["auc"] in ("0.0", "0.5", "1.0")


@pytest.mark.slow  # ~5 s: a subprocess that imports torch and trains
def test_sigint_keeps_whole_cells(tmp_path):
    """Check a real Ctrl-C (SIGINT) to the script leaves only whole cells."""
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--out",
            str(out),
            "--seeds",
            "0",
            "--rows",  # a fast first cell, then Ctrl-C (most likely) in a fit
            "iforest",
            *CORE_ROWS[:4],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    cells_path = out / "ablation_quick.csv"
    deadline = time.monotonic() + 60
    while not cells_path.exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no cell after 60 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, log
    assert "interrupted:" in log and "Traceback" not in log
    cells = _read(cells_path)
    assert 1 <= len(cells) < 2 * 5
    for c in cells:
        assert c["status"] == "ok" and 0.0 <= float(c["auc"]) <= 1.0
    n_test = QUICK["n_test_normal"] + QUICK["n_test_anomalous"]
    scores = _read(out / "ablation_quick_scores.csv")
    saved = {(c["machine_type"], c["row"], c["seed"]) for c in cells}
    for key in saved:
        assert (
            sum((s["machine_type"], s["row"], s["seed"]) == key for s in scores)
            == n_test
        )
