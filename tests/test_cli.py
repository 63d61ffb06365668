import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _configs import CLI_TINY, param_specs, tiny_mel
from _trees import write_dcase_tree, write_mimii
from sklearn.metrics import roc_auc_score

from sklearn_asd.cli import main
from sklearn_asd.cli._common import _parse_value
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.metrics import official_score, section_report
from sklearn_asd.persistence import load_model
from sklearn_asd.utils._csv import _write_csv

# torch on one thread: several threads on a busy 2-core machine are 5-20x slower
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_demo_prints_results(capsys):
    """Check the demo runs end to end and prints the report and the summary."""
    status = main(
        [
            "demo",
            "--n-train",
            "9",
            "--n-test",
            "8",
            "--duration",
            "2",
            "--n-sections",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "Generating 9 normal training clips" in out
    assert "harmonic mean" in out
    lines = [
        line
        for line in out.splitlines()
        if line.startswith(("contrastive, ", "IsolationForest"))
    ]
    # seed CNN score, AE-branch score and IsolationForest, without and with MF
    assert len(lines) == 6
    # AUC, pAUC, official score and four per-kind AUCs, all in [0, 1]
    for line in lines:
        values = [float(v) for v in line.split()[-7:]]
        assert all(0.0 <= v <= 1.0 for v in values)


def test_demo_quiet_prints_only_results(capsys):
    """Check --quiet drops the progress lines."""
    main(["demo", "--n-train", "3", "--n-test", "4", "--duration", "1", "--quiet"])
    out = capsys.readouterr().out
    assert "Generating" not in out and "Fitting" not in out
    assert "Summary" in out


def test_demo_writes_plots(tmp_path, capsys):
    """Check --plots writes the ROC, histogram and median-filter figures."""
    pytest.importorskip("matplotlib", reason="--plots needs matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    folder = tmp_path / "figures"
    argv = ["demo", "--n-train", "4", "--n-test", "3", "--duration", "1"]
    status = main([*argv, "--epochs", "1", "--quiet", "--plots", str(folder)])
    assert status == 0, capsys.readouterr().err
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["median_filter.png", "roc.png", "scores.png"]
    for path in folder.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000

    (tmp_path / "file").write_text("x")
    status = main([*argv, "--plots", str(tmp_path / "file")])
    err = capsys.readouterr().err
    assert status == 2 and "is a file" in err


def test_demo_on_real_mimii_clips(shared_datasets, capsys):
    """Check demo --data trains on the MIMII fan normals and scores the rest."""
    root = shared_datasets / "mimii-becode-demo-ch0"
    status = main(["demo", "--data", str(root), "--epochs", "2"])
    out = capsys.readouterr().out
    assert status == 0
    # fan: 6 of 10 normals train; pump has no normal clip and is skipped
    assert "Reading 6 training and 14 test clips" in out
    assert "Skipping machine type(s) without normal training clips: ['pump']" in out
    assert "fan/unknown             4           10" in out
    rows = [line for line in out.splitlines() if line.startswith("contrastive, ")]
    # one class: the contrastive detector falls back to its autoencoder branch
    assert rows and all("AE-branch (fallback)" in row for row in rows)
    assert all(0.9 <= float(row.split()[-4]) <= 1.0 for row in rows)  # AUC


def test_demo_data_errors_are_usage_errors(tmp_path, capsys):
    """Check --data mistakes give a one-line error and exit 2."""
    status = main(["demo", "--data", str(tmp_path / "missing")])
    _check_usage_error(status, capsys.readouterr().err, "demo", "does not exist")
    tree = tmp_path / "dev" / "fan" / "train"
    tree.mkdir(parents=True)
    sounds = make_machine_sounds(n_normal=2, n_anomalous=0, duration=1.0)
    for i, clip in enumerate(sounds.data):
        name = f"section_00_source_train_normal_{i:04d}.wav"
        sf.write(tree / name, clip, sounds.sr)
    status = main(["demo", "--data", str(tmp_path / "dev")])
    _check_usage_error(
        status, capsys.readouterr().err, "demo", "labelled normal and anomalous"
    )


def test_demo_bad_value_exits_2_without_traceback(capsys):
    """Check a bad option value returns 2 with a one-line message."""
    assert main(["demo", "--severity", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == "sklearn-asd demo: error: --severity must be in [0, 1], got 3.0"
    )


@pytest.mark.parametrize(
    "argv", [[], ["train"], ["demo", "--n-train", "0"], ["demo", "--bogus"]]
)
def test_usage_errors_exit_2(argv, capsys):
    """Check argparse usage errors exit with status 2 and a usage line."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: sklearn-asd" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# train / score / evaluate on small DCASE-layout trees
# ---------------------------------------------------------------------------

TINY = CLI_TINY


def _params(*extra):
    """``--param`` arguments of the tiny configuration; ``extra`` overrides it."""
    specs = dict(spec.split("=", 1) for spec in [*TINY, *extra])
    out = []
    for name, value in specs.items():
        out += ["--param", f"{name}={value}"]
    return out


#: write a DCASE dev tree of 0.5-s synthetic clips in ``year``'s naming
_write_tree = write_dcase_tree


def _expected_groups(root, year, machine="fan"):
    """Result-file name -> basenames of its test clips, from the folder layout."""
    groups = {}
    for path in sorted(Path(root, machine).glob("*test/*.wav")):
        name = path.name
        if year == 2020:
            key = f"anomaly_score_{machine}_id_{name.split('_id_')[1][:2]}.csv"
        elif year == 2021:
            key = f"anomaly_score_{machine}_section_{name[8:10]}_{path.parent.name}.csv"
        else:
            key = f"anomaly_score_{machine}_section_{name[8:10]}_test.csv"
        groups.setdefault(key, set()).add(name)
    return groups


def _read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _run(argv, capsys):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _check_usage_error(status, err, command, *needles):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sklearn-asd {command}: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2021-layout tree with two sections and a model trained on it by the CLI."""
    base = tmp_path_factory.mktemp("cli")
    root = _write_tree(base / "dev2021", 2021)
    model = base / "model.joblib"
    status = main(["train", str(root), "--out", str(model), "--quiet", *_params()])
    assert status == 0
    return root, model


def _direct_scores(model, paths, sections=None):
    """Scores and +/-1 predictions of the saved pipeline, without the CLI."""
    pipe = load_model(model)
    X = pipe[:-1].transform(list(paths))
    det = pipe[-1]
    return det.anomaly_score(X, sections=sections), det.predict(X, sections=sections)


def test_train_saves_model_with_envelope(trained):
    """Check train fits the default pipeline on the train normals and saves it."""
    root, model = trained
    pipe, info = load_model(model, return_info=True)
    assert [name for name, _ in pipe.steps] == ["load", "mel", "mf", "det"]
    det = pipe[-1]
    assert det.classes_.tolist() == ["00", "01"]
    # mel__n_mels was copied to the median filter and the detector
    assert pipe["mf"].n_mels == det.n_mels == 16
    # load__duration defaults to the first training clip's length (0.5 s)
    assert pipe["load"].duration == pytest.approx(0.5)
    assert det.n_epochs_ == 1
    assert info["machine_types"] == ["fan"]
    assert info["sections"] == ["00", "01"]
    assert info["metadata"]["class_scheme"] == "section"
    assert info["metadata"]["n_clips"] == len(list(root.glob("fan/train/*.wav")))
    assert info["features"]["mel"]["n_mels"] == 16
    assert info["features"]["mel"]["n_fft"] == 256
    assert info["features"]["load"]["n_samples_"] == 8000
    assert set(info["versions"]) >= {"python", "numpy", "scikit-learn", "torch"}


def test_score_and_evaluate_2021_end_to_end(trained, tmp_path, capsys):
    """Check score writes the 2021 submission files and evaluate reads them."""
    root, model = trained
    out = tmp_path / "scores"
    status, stdout, err = _run(
        ["score", model, root, "--out", out, "--chunk-size", "5"], capsys
    )
    assert status == 0, err
    assert err == ""  # stderr is not a terminal: no progress lines
    expected = _expected_groups(root, 2021)
    assert len(expected) == 4  # 2 sections x 2 domains
    decision_names = {
        n.replace("anomaly_score", "decision_result", 1) for n in expected
    }
    assert set(os.listdir(out)) == set(expected) | decision_names

    labels, scores, predicted = {}, {}, {}
    for name, clips in expected.items():
        rows = _read_rows(out / name)
        assert {r[0] for r in rows} == clips and len(rows) == len(clips)
        assert all(len(r) == 2 for r in rows)  # no header, name,score
        decisions = _read_rows(out / name.replace("anomaly_score", "decision_result"))
        assert [r[0] for r in decisions] == [r[0] for r in rows]
        assert {r[1] for r in decisions} <= {"0", "1"}
        for (clip, score), (_, decision) in zip(rows, decisions):
            scores[clip] = float(score)
            predicted[clip] = int(decision)
            labels[clip] = int("_anomaly_" in clip)

    # the written scores and decisions are the pipeline's own
    paths = sorted(root.glob("fan/*_test/*.wav"))
    names = [p.name for p in paths]
    sections = [n[8:10] for n in names]
    direct, predict = _direct_scores(model, paths, sections)
    np.testing.assert_allclose([scores[n] for n in names], direct, rtol=1e-12)
    np.testing.assert_array_equal(
        [predicted[n] for n in names], (predict == -1).astype(int)
    )

    # evaluate: labels from the file names, the official 2021 formula
    report = tmp_path / "report.csv"
    status, stdout, err = _run(
        ["evaluate", root, "--scores", out, "--out", report], capsys
    )
    assert status == 0, err
    y = np.array([labels[n] for n in names])
    s = np.array([scores[n] for n in names])
    domains = [p.parent.name.split("_")[0] for p in paths]
    expected_score = official_score(y, s, sections=sections, domains=domains)
    assert f"official score (DCASE 2021 formula): {expected_score:.4f}" in stdout
    assert section_report(y, s, sections=sections, domains=domains) in stdout
    rows = _read_rows(report)
    assert rows[0] == [
        "machine_type",
        "section",
        "domain",
        "n_normal",
        "n_anomalous",
        "auc",
        "pauc",
        "official_score",
    ]
    by_group = {(r[1], r[2]): r for r in rows[1:]}
    mask = (np.array(sections) == "01") & (np.array(domains) == "source")
    assert float(by_group["01", "source"][5]) == pytest.approx(
        roc_auc_score(y[mask], s[mask])
    )

    # evaluate --plots: ROC per section and histograms per section x domain
    pytest.importorskip("matplotlib", reason="--plots needs matplotlib")
    figures = tmp_path / "figures"
    status, stdout, err = _run(
        ["evaluate", root, "--scores", out, "--plots", figures], capsys
    )
    assert status == 0, err
    assert sorted(p.name for p in figures.iterdir()) == ["roc.png", "scores.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in figures.iterdir())
    assert f"Wrote {figures / 'roc.png'}" in stdout
    status, _, err = _run(
        ["evaluate", root, "--scores", out, "--plots", report], capsys
    )
    _check_usage_error(status, err, "evaluate", "is a file")
    assert rows[-1][1] == "official score (DCASE 2021)"
    assert float(rows[-1][-1]) == pytest.approx(expected_score)


@pytest.mark.parametrize("year", [2020, 2022])
def test_score_names_files_after_the_tree_year(trained, tmp_path, capsys, year):
    """Check the result file names of DCASE 2020 and 2022+ trees."""
    _, model = trained
    root = _write_tree(tmp_path / f"dev{year}", year, splits=("test",))
    out = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", out, "--quiet"], capsys)
    assert status == 0, err
    expected = _expected_groups(root, year)
    assert len(expected) == 2  # one file per section
    decision_names = {
        n.replace("anomaly_score", "decision_result", 1) for n in expected
    }
    assert set(os.listdir(out)) == set(expected) | decision_names
    for name, clips in expected.items():
        assert {r[0] for r in _read_rows(out / name)} == clips
    status, stdout, err = _run(["evaluate", root, "--scores", out], capsys)
    assert status == 0, err
    assert f"official score (DCASE {max(year, 2021)} formula)" in stdout


def test_score_year_option_renames_files(trained, tmp_path, capsys):
    """Check --year 2022 writes 2022-style names for a 2021 tree."""
    root, model = trained
    out = tmp_path / "scores"
    status, _, err = _run(
        ["score", model, root, "--out", out, "--year", "2022", "--quiet"], capsys
    )
    assert status == 0, err
    assert sorted(os.listdir(out)) == [
        "anomaly_score_fan_section_00_test.csv",
        "anomaly_score_fan_section_01_test.csv",
        "decision_result_fan_section_00_test.csv",
        "decision_result_fan_section_01_test.csv",
    ]
    # 2021 source_test + target_test clips of a section end up in one file
    rows = _read_rows(out / "anomaly_score_fan_section_00_test.csv")
    assert len(rows) == len(list(root.glob("fan/*_test/section_00_*.wav")))


@pytest.mark.parametrize(
    ("year", "names", "expected"),
    [
        (
            2020,
            ["id_00_00000000.wav", "id_01_00000001.wav"],
            ["anomaly_score_fan_id_00.csv", "anomaly_score_fan_id_01.csv"],
        ),
        (
            2021,
            ["section_00_source_test_0000.wav", "section_01_target_test_0001.wav"],
            [
                "anomaly_score_fan_section_00_source_test.csv",
                "anomaly_score_fan_section_01_target_test.csv",
            ],
        ),
        (
            2022,
            ["section_00_0000.wav", "section_01_0001.wav"],
            [
                "anomaly_score_fan_section_00_test.csv",
                "anomaly_score_fan_section_01_test.csv",
            ],
        ),
    ],
)
def test_score_evaluation_set_names(trained, tmp_path, capsys, year, names, expected):
    """Check unlabelled evaluation-set names are scored; evaluate refuses them."""
    _, model = trained
    clips = make_machine_sounds(
        n_normal=2, n_anomalous=0, n_sections=2, duration=0.5, random_state=3
    )
    for name, y in zip(names, clips.data):
        path = tmp_path / "eval" / "fan" / "test" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, clips.sr, subtype="FLOAT")
    out = tmp_path / "scores"
    status, _, err = _run(
        ["score", model, tmp_path / "eval", "--out", out, "--quiet"], capsys
    )
    assert status == 0, err
    decisions = [n.replace("anomaly_score", "decision_result") for n in expected]
    assert sorted(os.listdir(out)) == sorted(expected + decisions)
    for name, clip in zip(expected, names):
        assert [r[0] for r in _read_rows(out / name)] == [clip]
    status, _, err = _run(["evaluate", tmp_path / "eval", "--scores", out], capsys)
    _check_usage_error(status, err, "evaluate", "without a label")


def test_score_plain_folder_and_single_file(trained, tmp_path, capsys):
    """Check a folder of audio files and one file give anomaly_scores.csv."""
    root, model = trained
    test_dir = root / "fan" / "source_test"
    out = tmp_path / "folder"
    status, _, err = _run(["score", model, test_dir, "--out", out], capsys)
    assert status == 0, err
    rows = _read_rows(out / "anomaly_scores.csv")
    assert rows[0] == ["path", "score", "decision", "rank"]
    paths = sorted(test_dir.glob("*.wav"))
    # ranked: most anomalous first, rank 1..n
    got = {r[0]: r for r in rows[1:]}
    assert sorted(got) == [str(p) for p in paths]
    assert [int(r[3]) for r in rows[1:]] == list(range(1, len(paths) + 1))
    assert [float(r[1]) for r in rows[1:]] == sorted(
        (float(r[1]) for r in rows[1:]), reverse=True
    )
    rows = [got[str(p)] for p in paths]  # back in path order
    # the names carry sections: each clip is scored against its own section
    direct, predict = _direct_scores(model, paths, [p.name[8:10] for p in paths])
    np.testing.assert_allclose([float(r[1]) for r in rows], direct, rtol=1e-12)
    assert [int(r[2]) for r in rows] == (predict == -1).astype(int).tolist()

    # names without a section: each clip is scored against its best class
    plain = tmp_path / "plain"
    plain.mkdir()
    for i, p in enumerate(paths[:3]):
        (plain / f"recording{i}.wav").write_bytes(p.read_bytes())
    status, _, err = _run(["score", model, plain, "--out", out], capsys)
    assert status == 0, err
    assert "best-matching class of 2 (00, 01)" in err  # said, not silent
    rows = sorted(_read_rows(out / "anomaly_scores.csv")[1:])
    direct, _ = _direct_scores(model, paths[:3])
    np.testing.assert_allclose([float(r[1]) for r in rows], direct, rtol=1e-12)
    # --section scores every clip against one class
    status, _, err = _run(
        ["score", model, plain, "--out", out, "--section", "01"], capsys
    )
    assert status == 0 and err == ""
    rows = sorted(_read_rows(out / "anomaly_scores.csv")[1:])
    in_01, _ = _direct_scores(model, paths[:3], ["01"] * 3)
    np.testing.assert_allclose([float(r[1]) for r in rows], in_01, rtol=1e-12)
    status, _, err = _run(
        ["score", model, plain, "--out", out, "--section", "07"], capsys
    )
    _check_usage_error(status, err, "score", "07")

    status, _, err = _run(
        ["score", model, plain / "recording1.wav", "--out", tmp_path / "one"],
        capsys,
    )
    assert status == 0, err
    rows = _read_rows(tmp_path / "one" / "anomaly_scores.csv")
    assert len(rows) == 2 and rows[1][0] == str(plain / "recording1.wav")
    assert float(rows[1][1]) == pytest.approx(direct[1], rel=1e-12)


def test_score_unknown_section_is_a_clear_error(trained, tmp_path, capsys):
    """Check a section the model never saw is named in a usage error."""
    _, model = trained
    root = _write_tree(tmp_path / "three", 2022, n_sections=3, splits=("test",))
    out = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", out], capsys)
    _check_usage_error(status, err, "score", "unknown section '02'", "section_02_")
    assert not out.exists() or os.listdir(out) == []


def test_train_several_machine_types(tmp_path, capsys):
    """Check several machine types need --machine-type; 'all' trains one model."""
    root = tmp_path / "multi"
    _write_tree(root, 2022, machine="fan", seed=0)
    _write_tree(root, 2022, machine="pump", seed=10)
    model = tmp_path / "m.joblib"
    status, _, err = _run(["train", root, "--out", model, *_params()], capsys)
    _check_usage_error(status, err, "train", "['fan', 'pump']", "--machine-type")
    assert not model.exists()

    status, stdout, err = _run(
        ["train", root, "--out", model, "--machine-type", "all", *_params()], capsys
    )
    assert status == 0, err
    assert "classes: fan/00, fan/01, pump/00, pump/01" in stdout
    info = load_model(model, return_info=True)[1]
    assert info["machine_types"] == ["fan", "pump"]
    assert info["metadata"]["class_scheme"] == "machine_section"

    out = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", out, "--quiet"], capsys)
    assert status == 0, err
    expected = set(_expected_groups(root, 2022, "fan")) | set(
        _expected_groups(root, 2022, "pump")
    )
    assert {n for n in os.listdir(out) if n.startswith("anomaly")} == expected
    # machine type x section classes: a pump clip is scored as class "pump/00"
    pump = sorted(root.glob("pump/test/section_00_*.wav"))
    direct, _ = _direct_scores(model, pump, ["pump/00"] * len(pump))
    rows = dict(_read_rows(out / "anomaly_score_pump_section_00_test.csv"))
    np.testing.assert_allclose([float(rows[p.name]) for p in pump], direct, rtol=1e-12)


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_only(trained, tmp_path, monkeypatch, capsys):
    """Check progress (skorch epochs, chunks) goes to a terminal stderr only."""
    root, model = trained
    fake = _TTY()
    monkeypatch.setattr("sys.stderr", fake)
    out = tmp_path / "scores"
    assert (
        main(["score", str(model), str(root), "--out", str(out), "--chunk-size", "7"])
        == 0
    )
    progress = fake.getvalue()
    assert "Scoring 16 clip(s) of fan" in progress
    assert "scored 7/16 clips" in progress and "scored 16/16 clips" in progress
    assert "Wrote 8 files" in capsys.readouterr().out

    fake.seek(0)
    fake.truncate()
    new_model = tmp_path / "again.joblib"
    assert main(["train", str(root), "--out", str(new_model), *_params()]) == 0
    progress = fake.getvalue()
    assert "Training on 16 normal clips of fan" in progress
    assert "train_loss" in progress  # skorch's epoch table, on stderr
    stdout = capsys.readouterr().out
    assert "train_loss" not in stdout and "saved" in stdout
    # the epoch table was progress only: the saved detector is quiet
    assert load_model(new_model)[-1].verbose == 0

    fake.seek(0)
    fake.truncate()
    assert main(["score", str(model), str(root), "--out", str(out), "--quiet"]) == 0
    assert fake.getvalue() == ""
    assert capsys.readouterr().out == ""


def test_interrupted_training_saves_nothing(trained, tmp_path, monkeypatch, capsys):
    """Check Ctrl-C during training exits 130 and leaves the old model intact."""
    from sklearn_asd._net import _ASDNet

    root, model = trained
    target = tmp_path / "model.joblib"
    target.write_bytes(model.read_bytes())
    before = target.read_bytes()

    def interrupt(self, batch, **fit_params):
        raise KeyboardInterrupt

    monkeypatch.setattr(_ASDNet, "train_step_single", interrupt)
    status, _, err = _run(["train", root, "--out", target, *_params()], capsys)
    assert status == 130
    assert err.strip() == "sklearn-asd train: interrupted; no model was saved"
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.joblib"]


def test_failed_write_leaves_no_partial_file(trained, tmp_path, monkeypatch, capsys):
    """Check a failure in the middle of writing a CSV leaves no partial file."""
    root, model = trained
    out = tmp_path / "scores"
    out.mkdir()
    previous = out / "anomaly_score_fan_section_00_source_test.csv"
    previous.write_text("old,1.0\n")
    real_writer = csv.writer

    class FailingWriter:
        def __init__(self, f, **kwargs):
            self.inner = real_writer(f, **kwargs)
            self.n = 0

        def writerow(self, row):
            self.n += 1
            if self.n == 3:
                raise OSError("No space left on device")
            return self.inner.writerow(row)

    monkeypatch.setattr(csv, "writer", FailingWriter)
    status, _, err = _run(["score", model, root, "--out", out], capsys)
    _check_usage_error(status, err, "score", "No space left on device")
    assert os.listdir(out) == [previous.name]
    assert previous.read_text() == "old,1.0\n"

    # the same through the helper, with a KeyboardInterrupt mid-way
    def rows():
        yield ["a.wav", 1.0]
        raise KeyboardInterrupt

    monkeypatch.setattr(csv, "writer", real_writer)
    with pytest.raises(KeyboardInterrupt):
        _write_csv(previous, rows())
    assert os.listdir(out) == [previous.name]
    assert previous.read_text() == "old,1.0\n"


def test_evaluate_missing_and_incomplete_score_files(trained, tmp_path, capsys):
    """Check evaluate names a missing section file and missing rows."""
    root, model = trained
    out = tmp_path / "scores"
    assert main(["score", str(model), str(root), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    (out / "anomaly_score_fan_section_01_target_test.csv").unlink()
    status, _, err = _run(["evaluate", root, "--scores", out], capsys)
    _check_usage_error(
        status,
        err,
        "evaluate",
        "missing score file anomaly_score_fan_section_01_target_test.csv",
        "section '01'",
    )
    path = out / "anomaly_score_fan_section_00_source_test.csv"
    rows = _read_rows(path)
    path.write_text("".join(f"{a},{b}\n" for a, b in rows[1:]))
    status, _, err = _run(["evaluate", root, "--scores", out], capsys)
    _check_usage_error(status, err, "evaluate", "has no score for 1 of its")


def _bad_model_files(tmp_path, model):
    import joblib

    import sklearn_asd.persistence as persist

    text = tmp_path / "notes.joblib"
    text.write_text("not a model\n")
    truncated = tmp_path / "truncated.joblib"
    truncated.write_bytes(model.read_bytes()[:2000])
    plain = tmp_path / "plain.joblib"
    joblib.dump({"weights": [1, 2, 3]}, plain)
    newer = tmp_path / "newer.joblib"
    envelope = joblib.load(model)
    envelope["sklearn_asd_version"] = "9.3.0"
    joblib.dump(envelope, newer)
    assert persist.__version__ != "9.3.0"
    return {
        "notes": (text, "is not a sklearn-asd model file"),
        "truncated": (truncated, "corrupt or truncated"),
        "plain": (plain, "not a sklearn-asd model file (it holds a dict"),
        "newer": (newer, "saved by sklearn_asd 9.3.0"),
        "missing": (tmp_path / "nope.joblib", "model file not found"),
    }


def test_bad_model_files_are_usage_errors(trained, tmp_path, capsys):
    """Check unreadable, foreign, incompatible and missing models exit 2."""
    root, model = trained
    for path, needle in _bad_model_files(tmp_path, model).values():
        status, _, err = _run(["score", path, root, "--out", tmp_path / "out"], capsys)
        _check_usage_error(status, err, "score", needle)


@pytest.mark.parametrize(
    ("make_argv", "needles"),
    [
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--param",
                "det__max_epoch=2",
            ],
            ["unknown parameter 'det__max_epoch'", "did you mean det__max_epochs"],
        ),
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--param",
                "max_epochs",
            ],
            ["--param expects NAME=VALUE"],
        ),
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--param",
                "det__max_epochs=0",
            ],
            ["'max_epochs' parameter of ContrastiveASDEstimator"],
        ),
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--param",
                "det__n_mels=16",
            ],
            ["disagree on the number of mel bands"],
        ),
        (
            lambda root, tmp: ["train", tmp / "nowhere", "--out", tmp / "m.joblib"],
            ["does not exist"],
        ),
        (
            lambda root, tmp: ["train", tmp, "--out", tmp / "m.joblib"],
            ["no .wav or .flac file found"],
        ),
        (
            lambda root, tmp: ["train", root, "--out", tmp / "no" / "m.joblib"],
            ["the folder of --out"],
        ),
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--year",
                "2020",
            ],
            ["--year 2020 expects DCASE 2020 file names"],
        ),
        (
            lambda root, tmp: [
                "train",
                root,
                "--out",
                tmp / "m.joblib",
                "--split",
                "dev",
            ],
            ["no 'dev' split", "splits found: ['test', 'train']"],
        ),
        (
            lambda root, tmp: ["evaluate", root, "--scores", tmp / "nowhere"],
            ["--scores folder"],
        ),
    ],
)
def test_usage_errors_of_train_and_evaluate(
    trained, tmp_path, capsys, make_argv, needles
):
    """Check user errors exit 2 with one line and nothing is written."""
    root, _ = trained
    argv = make_argv(root, tmp_path)
    status, _, err = _run(argv, capsys)
    _check_usage_error(status, err, argv[0], *needles)
    assert not (tmp_path / "m.joblib").exists()


def test_train_score_real_dcase2023_clips(shared_datasets, tmp_path, capsys):
    """Check train and score on real DCASE 2023 clips (one section: AE branch)."""
    root = shared_datasets / "dcase2023t2-dev-sample"
    model = tmp_path / "fan.joblib"
    status, stdout, err = _run(
        [
            "train",
            root,
            "--machine-type",
            "fan",
            "--out",
            model,
            *_params("mel__n_fft=1024", "mel__hop_length=512"),
        ],
        capsys,
    )
    assert status == 0, err
    assert "scored with the ae branch" in stdout  # one section: documented fallback
    out = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", out, "--quiet"], capsys)
    assert status == 0, err
    assert sorted(os.listdir(out)) == [
        "anomaly_score_fan_section_00_test.csv",
        "decision_result_fan_section_00_test.csv",
    ]
    rows = _read_rows(out / "anomaly_score_fan_section_00_test.csv")
    test_clips = sorted(p.name for p in (root / "fan" / "test").glob("*.wav"))
    assert sorted(r[0] for r in rows) == test_clips
    assert all(np.isfinite(float(r[1])) for r in rows)
    # one clip per domain: the per-domain AUCs are undefined (n/a, named), the
    # machine type's pooled AUC is not
    status, stdout, err = _run(
        ["evaluate", root, "--scores", out, "--machine-type", "fan"], capsys
    )
    assert status == 0, err
    assert "formula): undefined" in stdout and "domain 'source'" in stdout
    pooled = [line for line in stdout.splitlines() if line.startswith("fan ")][-1]
    assert pooled.split()[1:3] == ["1", "1"]  # 1 normal, 1 anomalous


def test_param_values_are_python_literals_or_strings():
    """Check --param values parse as literals, true/false/none, else strings."""
    assert _parse_value("5") == 5
    assert _parse_value("0.25") == 0.25
    assert _parse_value("(1, 5)") == (1, 5)
    assert _parse_value("True") is True and _parse_value("false") is False
    assert _parse_value("None") is None and _parse_value("none") is None
    assert _parse_value("cuda") == "cuda"
    assert _parse_value("'reflect'") == "reflect"


def test_version_warning_is_one_line_and_scoring_goes_on(
    trained, tmp_path, monkeypatch, capsys
):
    """Check a patch-version difference warns on one line and still scores."""
    import sklearn_asd.persistence as persist

    root, model = trained
    major_minor = ".".join(persist.__version__.split(".")[:2])
    monkeypatch.setattr(persist, "__version__", f"{major_minor}.99")
    status, _, err = _run(
        ["score", model, root, "--out", tmp_path / "s", "--quiet"], capsys
    )
    assert status == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sklearn-asd score: warning: UserWarning: ")
    assert f"-> {major_minor}.99" in lines[0]
    assert len(os.listdir(tmp_path / "s")) == 8


def test_mimii_tree_with_split_unknown(tmp_path, capsys):
    """Check a MIMII tree (no split, repeated file names) trains, scores, evaluates."""
    _write_mimii(tmp_path / "mimii", "fan", 10, 4)
    root, model = tmp_path / "mimii", tmp_path / "m.joblib"
    status, _, err = _run(["train", root, "--out", model, *_params()], capsys)
    _check_usage_error(status, err, "train", "--split unknown")
    status, stdout, err = _run(
        ["train", root, "--out", model, "--split", "unknown", *_params()], capsys
    )
    assert status == 0, err
    assert "classes: unknown" in stdout and "ae branch" in stdout
    out = tmp_path / "scores"
    status, _, err = _run(
        ["score", model, root, "--out", out, "--split", "unknown", "--quiet"], capsys
    )
    assert status == 0, err
    assert sorted(os.listdir(out)) == [
        "anomaly_score_fan.csv",
        "decision_result_fan.csv",
    ]
    rows = _read_rows(out / "anomaly_score_fan.csv")
    # normal/ and abnormal/ repeat file names: the label folder keeps them apart
    assert "normal/00000000.wav" in dict(rows) and "abnormal/00000000.wav" in dict(rows)
    assert len(rows) == 14
    status, stdout, err = _run(
        ["evaluate", root, "--scores", out, "--split", "unknown"], capsys
    )
    assert status == 0, err
    y = [int(name.startswith("abnormal/")) for name, _ in rows]
    auc = roc_auc_score(y, [float(s) for _, s in rows])
    row = next(line.split() for line in stdout.splitlines() if line.startswith("unk"))
    assert row[:3] == ["unknown", "10", "4"]
    assert float(row[3]) == pytest.approx(auc, abs=1e-4)


def test_score_other_machine_type_needs_the_option(trained, tmp_path, capsys):
    """Check a tree without the model's machine type is a usage error."""
    _, model = trained
    sounds = make_machine_sounds(
        n_normal=1, n_anomalous=0, n_sections=1, duration=0.5, random_state=0
    )
    path = tmp_path / "tree" / "pump" / "test" / "section_00_0000.wav"
    path.parent.mkdir(parents=True)
    sf.write(path, sounds.data[0], sounds.sr, subtype="FLOAT")
    out = tmp_path / "out"
    status, _, err = _run(["score", model, tmp_path / "tree", "--out", out], capsys)
    _check_usage_error(
        status, err, "score", "trained on machine type(s) ['fan']", "['pump']"
    )
    assert not out.exists()
    status, _, err = _run(
        ["score", model, tmp_path / "tree", "--out", out, "--machine-type", "pump"],
        capsys,
    )
    assert status == 0, err
    assert [
        r[0] for r in _read_rows(out / "anomaly_score_pump_section_00_test.csv")
    ] == ["section_00_0000.wav"]


# ~12 s (an ONNX export with the front end); test_export exports the same graph
@pytest.mark.slow
def test_export_writes_onnx_with_matching_scores(trained, tmp_path, capsys):
    """Check export writes an ONNX model whose scores match the saved pipeline."""
    ort = pytest.importorskip("onnxruntime", reason="export needs the onnx extra")
    pytest.importorskip("onnxscript", reason="export needs the onnx extra")
    root, model = trained
    target = tmp_path / "model.onnx"
    status, out, err = _run(
        ["export", model, "--out", target, "--include-frontend"], capsys
    )
    assert status == 0, err
    assert "wrote" in out and "'waveform'" in out
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temp left

    pipe = load_model(model)
    paths = sorted((root / "fan" / "source_test").glob("*.wav"))[:4]
    waves = pipe["load"].transform([str(p) for p in paths]).astype(np.float32)
    sections = [p.name[8:10] for p in paths]
    index = np.array([pipe[-1].classes_.tolist().index(s) for s in sections])
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    got = session.run(["anomaly_score"], {"waveform": waves, "section": index})[0]
    expected, _ = _direct_scores(model, paths, sections)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=2e-3)


def test_export_usage_errors(trained, tmp_path, capsys):
    """Check export's mistakes are one-line usage errors and leave no file."""
    _, model = trained
    status, _, err = _run(
        ["export", tmp_path / "missing.joblib", "--out", tmp_path / "m.onnx"], capsys
    )
    assert status == 2 and "Traceback" not in err and "missing.joblib" in err
    status, _, err = _run(
        ["export", model, "--out", tmp_path / "no" / "m.onnx"], capsys
    )
    assert status == 2 and "does not exist" in err
    status, _, err = _run(["export", model, "--out", tmp_path], capsys)
    assert status == 2 and "is a folder" in err
    assert list(tmp_path.iterdir()) == []


def test_evaluate_defaults_to_scored_machine_types_and_one_class_groups(
    tmp_path, capsys
):
    """Check evaluate picks the scored machine types and reports n/a groups."""
    root = _write_tree(tmp_path / "dev2021", 2021)
    pump = root / "pump" / "source_test"
    pump.mkdir(parents=True)
    first = sorted((root / "fan" / "source_test").glob("*.wav"))[0]
    (pump / first.name).write_bytes(first.read_bytes())
    model = tmp_path / "fan.joblib"
    argv = ["train", root, "--machine-type", "fan", "--out", model, "--quiet"]
    assert _run([*argv, *_params()], capsys)[0] == 0
    scores = tmp_path / "scores"
    assert _run(["score", model, root, "--out", scores], capsys)[0] == 0
    status, out, err = _run(["evaluate", root, "--scores", scores], capsys)
    assert status == 0, err
    assert "Evaluating ['fan']; no score files for ['pump']" in out
    assert "official score (DCASE 2021 formula)" in out

    # drop the anomalies of one group: that group has one class
    for path in (root / "fan" / "target_test").glob("*_anomaly_*.wav"):
        path.unlink()
    assert _run(["score", model, root, "--out", scores], capsys)[0] == 0
    report = tmp_path / "report.csv"
    status, out, err = _run(
        ["evaluate", root, "--scores", scores, "--out", report], capsys
    )
    assert status == 0, err
    assert "n/a" in out
    assert "official score (DCASE 2021 formula): undefined (section" in out
    assert "Traceback" not in err
    rows = _read_rows(report)
    assert rows[0][:3] == ["machine_type", "section", "domain"]
    target = [r for r in rows[1:] if r[2] == "target"]
    assert target and all(r[5] == "" for r in target)  # AUC n/a
    assert any(r[1] == "all" and r[5] != "" for r in rows[1:])


def test_train_is_reproducible_by_default(tmp_path, capsys):
    """Check two train runs of the same command give the same model scores."""
    root = _write_tree(tmp_path / "dev2021", 2021)
    params = [p for p in TINY if not p.startswith("det__random_state")]
    params = [a for p in params for a in ("--param", p)]
    scores = []
    for name, seed in (("a", []), ("b", []), ("c", ["--random-state", "1"])):
        model = tmp_path / f"{name}.joblib"
        argv = ["train", root, "--out", model, "--quiet", *params, *seed]
        assert _run(argv, capsys)[0] == 0
        paths = sorted(root.glob("fan/source_test/*.wav"))
        scores.append(_direct_scores(model, paths)[0])
    np.testing.assert_array_equal(scores[0], scores[1])
    assert not np.allclose(scores[0], scores[2])
    assert load_model(tmp_path / "a.joblib")[-1].random_state == 0
    assert load_model(tmp_path / "c.joblib")[-1].random_state == 1


def test_train_on_a_plain_folder_of_recordings(tmp_path, capsys):
    """Check train takes a folder of recordings of one machine (all normal)."""
    folder = tmp_path / "pump_recordings"
    folder.mkdir()
    sounds = make_machine_sounds(n_normal=6, n_anomalous=2, duration=0.5)
    for i, clip in enumerate(sounds.data):
        target = folder if sounds.target[i] == 0 else tmp_path
        sf.write(target / f"rec_{i:02d}.wav", clip, sounds.sr)
    model = tmp_path / "pump.joblib"
    status, out, err = _run(["train", folder, "--out", model, *_tiny("knn")], capsys)
    assert status == 0, err
    assert "Trained on 6 normal clips of pump_recordings (classes: all;" in out
    # the default on a plain folder: clip statistics and k nearest neighbours
    pipe, info = load_model(model, return_info=True)
    assert [n for n, _ in pipe.steps] == ["load", "mel", "stats", "scale", "det"]
    assert type(pipe["det"]).__name__ == "KNNDetector"
    assert type(pipe["stats"]).__name__ == "BandStatistics"
    assert type(pipe["scale"]).__name__ == "StandardScaler"
    assert info["metadata"]["detector"] == "knn"
    status, _, err = _run(["score", model, tmp_path, "--out", tmp_path / "r"], capsys)
    assert status == 0 and err == ""  # one class: nothing to warn about
    rows = _read_rows(tmp_path / "r" / "anomaly_scores.csv")[1:]
    anomalous = [f"rec_{i:02d}.wav" for i in np.flatnonzero(sounds.target == 1)]
    assert sorted(Path(r[0]).name for r in rows) == anomalous

    # the contrastive detector on request
    argv = ["train", folder, "--out", model, "--detector", "contrastive", *_params()]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert "(classes: all; detector contrastive, 1 epoch(s), scored with the ae" in out
    assert [n for n, _ in load_model(model).steps] == ["load", "mel", "mf", "det"]

    # a copied DCASE train/ folder: sections from the file names are the classes
    root = _write_tree(tmp_path / "dev2021", 2021)
    status, out, err = _run(
        ["train", root / "fan" / "train", "--out", model, *_tiny("knn")], capsys
    )
    assert status == 0, err
    assert "(classes: 00, 01; detector knn)" in out
    status, _, err = _run(
        ["train", folder, "--machine-type", "fan", "--out", model], capsys
    )
    _check_usage_error(status, err, "train", "plain folder")


def test_score_options_that_do_not_apply_are_usage_errors(trained, tmp_path, capsys):
    """Check tree options on a file, and --section on a tree, exit 2."""
    root, model = trained
    clip = sorted((root / "fan" / "source_test").glob("*.wav"))[0]
    out = tmp_path / "out"
    status, _, err = _run(
        ["score", model, clip, "--out", out, "--machine-type", "fan"], capsys
    )
    _check_usage_error(status, err, "score", "apply to DCASE/MIMII trees only")
    status, _, err = _run(
        ["score", model, root, "--out", out, "--section", "00"], capsys
    )
    _check_usage_error(status, err, "score", "--section applies to one file")


def test_score_plain_folder_with_a_model_without_sections(tmp_path, capsys):
    """Check a saved IsolationForest pipeline scores files; --section is refused."""
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline

    from sklearn_asd.features import AudioLoader, BandStatistics, LogMelSpectrogram
    from sklearn_asd.persistence import save_model

    sounds = make_machine_sounds(n_normal=6, n_anomalous=0, duration=0.5)
    paths = []
    for i, clip in enumerate(sounds.data):
        paths.append(str(tmp_path / f"rec_{i}.wav"))
        sf.write(paths[-1], clip, sounds.sr)
    pipe = make_pipeline(
        AudioLoader(),
        LogMelSpectrogram(n_mels=16),
        BandStatistics(n_mels=16),
        IsolationForest(random_state=0),
    ).fit(paths)
    model = tmp_path / "iforest.joblib"
    save_model(pipe, model)
    status, _, err = _run(["score", model, tmp_path, "--out", tmp_path / "r"], capsys)
    assert status == 0 and err == ""
    rows = _read_rows(tmp_path / "r" / "anomaly_scores.csv")[1:]
    np.testing.assert_allclose(
        sorted(float(r[1]) for r in rows), sorted(-pipe.decision_function(paths))
    )
    status, _, err = _run(
        ["score", model, tmp_path, "--out", tmp_path / "r", "--section", "00"], capsys
    )
    _check_usage_error(status, err, "score", "needs a model trained with sections")


def test_score_in_parallel_processes_gives_the_same_files(trained, tmp_path, capsys):
    """Check score --n-jobs 2 writes the serial scores (up to float rounding)."""
    root, model = trained
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert _run(["score", model, root, "--out", serial, "--quiet"], capsys)[0] == 0
    argv = ["score", model, root, "--out", parallel, "--n-jobs", "2", "--quiet"]
    assert _run([*argv, "--chunk-size", "5"], capsys)[0] == 0
    assert sorted(os.listdir(serial)) == sorted(os.listdir(parallel))
    for name in os.listdir(serial):
        a, b = _read_rows(serial / name), _read_rows(parallel / name)
        assert [r[0] for r in a] == [r[0] for r in b]
        if name.startswith("anomaly_score"):
            np.testing.assert_allclose(
                [float(r[1]) for r in a], [float(r[1]) for r in b], rtol=1e-5
            )
    status, _, err = _run(
        ["score", model, root, "--out", parallel, "--n-jobs", "0"], capsys
    )
    _check_usage_error(status, err, "score", "--n-jobs")


# ---------------------------------------------------------------------------
# train --detector NAME and --auxiliary DIR
# ---------------------------------------------------------------------------

#: tiny settings of the front end shared by every detector
TINY_MEL = param_specs("mel", tiny_mel(16))
#: tiny settings of each --detector (the contrastive ones: TINY)
TINY_OF = {
    "knn": TINY_MEL,
    "iforest": [*TINY_MEL, "det__n_estimators=20"],
    "ae": [
        *TINY_MEL,
        "det__hidden_dim=16",
        "det__bottleneck_dim=4",
        "det__n_hidden=1",
        "det__max_epochs=1",
        "det__batch_size=64",
    ],
}


def _tiny(detector):
    return [a for spec in TINY_OF[detector] for a in ("--param", spec)]


def _write_plain(folder, n, *, seed=0, sr=16000, duration=0.5, names="rec_{:02d}.wav"):
    """Write ``n`` normal synthetic clips into ``folder`` (resampled to ``sr``)."""
    import librosa

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sounds = make_machine_sounds(
        n_normal=n, n_anomalous=0, duration=duration, random_state=seed
    )
    for i, clip in enumerate(sounds.data):
        if sr != sounds.sr:
            clip = librosa.resample(clip, orig_sr=sounds.sr, target_sr=sr)
        sf.write(folder / names.format(i), clip, sr)
    return folder


#: a MIMII-layout machine folder: <root>/<machine>/{normal,abnormal}/N.wav
_write_mimii = write_mimii


@pytest.mark.parametrize("detector", ["knn", "iforest", "ae"])
def test_train_and_score_with_each_classical_detector(
    detector, trained, tmp_path, capsys
):
    """Check train --detector NAME saves its pipeline; score/evaluate use it."""
    root, _ = trained
    model = tmp_path / f"{detector}.joblib"
    argv = ["train", root, "--detector", detector, "--out", model, *_tiny(detector)]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    pipe, info = load_model(model, return_info=True)
    det = pipe[-1]
    assert info["metadata"]["detector"] == detector
    if detector == "ae":
        assert [n for n, _ in pipe.steps] == ["load", "mel", "det"]
        assert type(det).__name__ == "AutoencoderBaseline" and det.n_mels == 16
        assert "1 epoch(s)" in out
    else:
        assert [n for n, _ in pipe.steps] == ["load", "mel", "stats", "scale", "det"]
        assert pipe["stats"].features == ("bands", "mfcc", "spectral")
        assert pipe["stats"].n_mels == 16  # copied from mel__n_mels
        assert "epoch" not in out
    assert "branch" not in out  # no score_branch_ to report
    if detector == "knn":
        assert type(det).__name__ == "KNNDetector"
        assert det.classes_.tolist() == ["00", "01"]
        assert info["sections"] == ["00", "01"]
        assert info["metadata"]["class_scheme"] == "section"
        assert "(classes: 00, 01; detector knn)" in out
    else:  # one model for all clips: sections are not passed
        assert info["sections"] == [] and info["metadata"]["class_scheme"] is None
        assert f"(classes: none, {detector} ignores sections;" in out
    if detector == "iforest":
        assert type(det).__name__ == "IsolationForest" and det.random_state == 0

    scores_dir = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", scores_dir], capsys)
    assert status == 0, err
    paths = sorted(root.glob("fan/*_test/*.wav"))
    written, decided = {}, {}
    for name in os.listdir(scores_dir):
        rows = dict(_read_rows(scores_dir / name))
        (written if name.startswith("anomaly") else decided).update(rows)
    X = pipe[:-1].transform([str(p) for p in paths])
    if detector == "knn":
        sections = [p.name[8:10] for p in paths]
        direct = det.anomaly_score(X, sections=sections)
        predicted = det.predict(X, sections=sections)
    elif detector == "ae":
        direct, predicted = det.anomaly_score(X), det.predict(X)
    else:
        direct, predicted = -det.decision_function(X), det.predict(X)
    np.testing.assert_allclose(
        [float(written[p.name]) for p in paths], direct, rtol=1e-10
    )
    np.testing.assert_array_equal(
        [int(decided[p.name]) for p in paths], (predicted == -1).astype(int)
    )
    status, out, err = _run(["evaluate", root, "--scores", scores_dir], capsys)
    assert status == 0, err
    assert "official score (DCASE 2021 formula)" in out

    # a single file: best-matching section (knn) or no section at all
    status, _, err = _run(["score", model, paths[0], "--out", tmp_path / "one"], capsys)
    assert status == 0
    rows = _read_rows(tmp_path / "one" / "anomaly_scores.csv")
    assert len(rows) == 2 and rows[0] == ["path", "score", "decision", "rank"]
    if detector != "knn":
        assert err == ""
        status, _, err = _run(
            ["score", model, paths[0], "--out", tmp_path / "one", "--section", "00"],
            capsys,
        )
        _check_usage_error(status, err, "score", "needs a model trained with sections")


def test_train_detector_param_names_follow_its_steps(tmp_path, capsys):
    """Check --param names and the error hint follow the chosen detector's steps."""
    folder = _write_plain(tmp_path / "recs", 4)
    model = tmp_path / "m.joblib"
    argv = ["train", folder, "--out", model, "--detector", "iforest"]
    status, _, err = _run([*argv, "--param", "bogus=1"], capsys)
    _check_usage_error(status, err, "train", "steps load, mel, stats, scale and det")
    status, _, err = _run([*argv, "--param", "det__max_epochs=1"], capsys)
    _check_usage_error(status, err, "train", "unknown parameter 'det__max_epochs'")
    status, _, err = _run(
        [*argv, "--param", "mel__n_mels=16", "--param", "stats__n_mels=8"], capsys
    )
    _check_usage_error(status, err, "train", "mel__n_mels=16, stats__n_mels=8")
    # mobilenetv2 classifies sections: one class and no auxiliary clips
    argv = ["train", folder, "--out", model, "--detector", "mobilenetv2", *_params()]
    status, _, err = _run(argv, capsys)
    _check_usage_error(status, err, "train", "two or more classes", "--auxiliary")
    assert not model.exists()
    with pytest.raises(SystemExit) as exc:
        main(["train", str(folder), "--out", str(model), "--detector", "svm"])
    assert exc.value.code == 2
    assert "invalid choice: 'svm'" in capsys.readouterr().err


#: fewer, larger batches for the trainings with auxiliary clips
FAST = ["det__batch_size=64", "det__patch_hop=8"]


def test_train_with_auxiliary_plain_dcase_and_mimii_folders(tmp_path, capsys):
    """Check --auxiliary takes a plain folder, a DCASE tree and a MIMII tree."""
    train = _write_plain(tmp_path / "my_pump", 6)
    # another unit, recorded at 8 kHz in 1-s clips: resampled, cropped to 0.5 s
    plain = _write_plain(tmp_path / "sets" / "bench", 4, seed=5, sr=8000, duration=1)
    dcase = _write_tree(
        tmp_path / "sets" / "dcase", 2022, machine="valve", n_sections=1, seed=7
    )
    mimii = _write_mimii(tmp_path / "sets" / "mimii", "slider", 4, 2, seed=9)
    _write_mimii(mimii, "pump", 0, 2, seed=11)  # no normal clip: skipped
    model = tmp_path / "m.joblib"
    argv = ["train", train, "--out", model, *_params(*FAST)]
    for folder in (plain, dcase, mimii):
        argv += ["--auxiliary", folder]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert "--auxiliary" in err and "skipping machine type(s) ['pump']" in err
    names = ["aux:bench", "aux:dcase/valve/00", "aux:mimii/slider"]
    n_aux = 4 + 12 + 4  # plain, the valve's train and test normals, MIMII normals
    assert f"with {n_aux} auxiliary clips (3 auxiliary class(es))" in out
    assert "(classes: all; detector contrastive" in out
    assert "scored with the cnn branch" in out
    pipe, info = load_model(model, return_info=True)
    det = pipe[-1]
    assert type(det).__name__ == "ContrastiveASDEstimator"
    assert det.auxiliary_classes == names and det.score_branch == "cnn"
    assert det.classes_.tolist() == ["all", *names]
    assert det.auxiliary_classes_.tolist() == names
    assert det.scored_classes_.tolist() == ["all"]
    assert det.score_branch_ == "cnn"
    assert pipe["load"].duration == pytest.approx(0.5)
    assert info["sections"] == ["all"]
    meta = info["metadata"]
    assert meta["auxiliary_classes"] == names and meta["n_auxiliary_clips"] == n_aux
    folders = {r["class"]: r["folder"] for r in meta["auxiliary"]}
    assert folders == {
        "aux:bench": str(plain.resolve()),
        "aux:dcase/valve/00": str(dcase.resolve()),
        "aux:mimii/slider": str(mimii.resolve()),
    }

    # scoring offers the scored class only; an auxiliary class is refused
    out_dir = tmp_path / "scores"
    status, _, err = _run(["score", model, train, "--out", out_dir], capsys)
    assert status == 0 and err == ""  # one scored class: no best-match warning
    status, _, err = _run(
        ["score", model, train, "--out", out_dir, "--section", "aux:bench"], capsys
    )
    _check_usage_error(status, err, "score", "'aux:bench'", "is an auxiliary class")


def test_train_auxiliary_machine_types_of_the_same_tree(tmp_path, capsys):
    """Check --auxiliary-machine-types uses the tree's other machine types."""
    root = tmp_path / "dev"
    _write_tree(root, 2022, machine="fan", seed=0)
    _write_tree(root, 2022, machine="pump", n_sections=1, seed=10)
    _write_tree(root, 2022, machine="valve", n_sections=1, seed=20)
    # two auxiliary folders of one name stay two classes (parent folder added)
    other = _write_tree(
        tmp_path / "b" / "dev", 2022, machine="pump", n_sections=1, seed=30
    )
    model = tmp_path / "m.joblib"
    argv = ["train", root, "--machine-type", "fan", "--out", model, *_params(*FAST)]
    argv += ["--auxiliary-machine-types", "all", "--auxiliary", other]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    names = [
        "aux:b/dev/pump/00",
        f"aux:{tmp_path.name}/dev/pump/00",
        f"aux:{tmp_path.name}/dev/valve/00",
    ]
    det = load_model(model)[-1]
    assert det.auxiliary_classes_.tolist() == sorted(names)
    assert det.scored_classes_.tolist() == ["00", "01"]
    assert "Auxiliary classes: " + ", ".join(sorted(names)) in out
    # the tree's fan clips are scored against the fan sections only
    out_dir = tmp_path / "scores"
    status, _, err = _run(["score", model, root, "--out", out_dir], capsys)
    assert status == 0, err
    assert sorted(n for n in os.listdir(out_dir) if n.startswith("anomaly")) == [
        "anomaly_score_fan_section_00_test.csv",
        "anomaly_score_fan_section_01_test.csv",
    ]
    # a clip without a section in its name: best-matching among 00 and 01 only
    clip = tmp_path / "clip.wav"
    clip.write_bytes(sorted(root.glob("fan/test/*.wav"))[0].read_bytes())
    status, _, err = _run(["score", model, clip, "--out", tmp_path / "one"], capsys)
    assert status == 0
    assert "best-matching class of 2 (00, 01)" in err and "aux:" not in err

    # one named machine type, and the MobileNetV2 baseline as the classifier
    argv = ["train", root, "--machine-type", "fan", "--out", model, *_params(*FAST)]
    argv += ["--auxiliary-machine-types", "valve", "--detector", "mobilenetv2"]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert "detector mobilenetv2, 1 epoch(s), scored with the cnn branch" in out
    pipe, info = load_model(model, return_info=True)
    assert pipe[-1].branches == "cnn" and info["metadata"]["detector"] == "mobilenetv2"
    assert pipe[-1].auxiliary_classes_.tolist() == ["aux:dev/valve/00"]
    status, _, err = _run(["score", model, root, "--out", out_dir], capsys)
    assert status == 0, err


def _auxiliary_bad_inputs(tmp_path):
    """name -> (argv after 'train', needles of the one-line error)."""
    train = _write_plain(tmp_path / "my_fan", 3)
    tree = _write_tree(tmp_path / "tree", 2022, machine="fan", n_sections=1)
    _write_tree(tree, 2022, machine="pump", n_sections=1, seed=3)
    anomalies = tmp_path / "anomalies"
    _write_mimii(anomalies, "gearbox", 0, 2)
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    for path in sorted((tree / "fan" / "test").glob("*_anomaly_*.wav"))[:2]:
        (labelled / path.name).write_bytes(path.read_bytes())
    clash = tmp_path / "clash"  # training class 'aux:lib/00' (machine 'aux:lib')
    _write_tree(clash, 2022, machine="aux:lib", n_sections=1)
    _write_tree(clash, 2022, machine="pump", n_sections=1, seed=3)
    lib = _write_tree(tmp_path / "lib", 2022, machine="lib", n_sections=1, seed=5)
    empty = tmp_path / "empty"
    empty.mkdir()
    somefile = tmp_path / "file.txt"
    somefile.write_text("x")
    other = _write_plain(tmp_path / "other", 3, seed=4)
    base = [train, *_params()]
    fan = [tree, "--machine-type", "fan", *_params()]
    return {
        "missing": ([*base, "--auxiliary", tmp_path / "nope"], ["does not exist"]),
        "file": ([*base, "--auxiliary", somefile], ["is not a folder"]),
        "no normal clip in a tree": (
            [*base, "--auxiliary", anomalies],
            ["has no normal clip", "['gearbox']"],
        ),
        "no normal clip in a plain folder": (
            [*base, "--auxiliary", labelled],
            ["has no normal clip"],
        ),
        "an empty folder": ([*base, "--auxiliary", empty], ["no .wav or .flac"]),
        "a MIMII abnormal folder": (
            [*base, "--auxiliary", anomalies / "gearbox" / "abnormal"],
            ["has no normal clip", "'abnormal' folder"],
        ),
        "the training folder itself": (
            [*base, "--auxiliary", train],
            ["is one of the training clips"],
        ),
        "the training tree itself": (
            [*fan, "--auxiliary", tree],
            ["is one of the training clips", "never recordings of the trained"],
        ),
        "named like a training class": (
            [clash, "--machine-type", "all", *_params(), "--auxiliary", lib / "lib"],
            ["'aux:lib/00'", "has the name of a training class"],
        ),
        "given twice": (
            [*base, "--auxiliary", other, "--auxiliary", other],
            ["is given twice"],
        ),
        "knn": (
            [*base, "--detector", "knn", "--auxiliary", other],
            ["use --detector contrastive or mobilenetv2, not knn"],
        ),
        "iforest": (
            [*base, "--detector", "iforest", "--auxiliary", other],
            ["not iforest"],
        ),
        "ae": ([*base, "--detector", "ae", "--auxiliary", other], ["not ae"]),
        "explicit auxiliary_classes": (
            [*base, "--auxiliary", other, "--param", "det__auxiliary_classes=['x']"],
            ["det__auxiliary_classes is set by --auxiliary"],
        ),
        "trained machine type": (
            [*fan, "--auxiliary-machine-types", "fan"],
            ["a trained machine type cannot be an auxiliary class"],
        ),
        "unknown machine type": (
            [*fan, "--auxiliary-machine-types", "valve"],
            ["unknown machine type(s) ['valve']"],
        ),
        "no other machine type": (
            [
                tree,
                "--machine-type",
                "all",
                *_params(),
                "--auxiliary-machine-types",
                "all",
            ],
            ["holds no machine type besides"],
        ),
        "machine types of a plain folder": (
            [*base, "--auxiliary-machine-types", "all"],
            ["is a plain folder of audio files"],
        ),
    }


def test_train_auxiliary_bad_inputs_are_one_line_errors(tmp_path, capsys):
    """Check every bad --auxiliary input exits 2 with one line and no model."""
    cases = _auxiliary_bad_inputs(tmp_path)
    model = tmp_path / "m.joblib"
    for name, (argv, needles) in cases.items():
        status, out, err = _run(["train", *argv[:1], "--out", model, *argv[1:]], capsys)
        assert status == 2, (name, err)
        _check_usage_error(status, err, "train", *needles)
        assert out == "" and not model.exists(), name
