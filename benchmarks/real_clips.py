# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Single-machine strategies side by side on the real clips in ../shared/datasets.

Real recordings of one healthy machine are what most users have. This script
measures, over repeated random train/test splits of each shared real set, every
strategy the package offers for them, with PyOD's audio detectors and an
IsolationForest in the same run; AUC, McClish pAUC and training time, mean ± std
over the splits. Small samples (tens of clips): they rank strategies on real
audio, they are not DCASE results.

Sets (one machine each; each seed draws a new split of the normal clips):

- ``mimii-fan``: ``mimii-becode-demo-ch0/fan``, 10 normal + 10 abnormal clips of
  one MIMII fan: 6 normals train, the other 4 normals and the 10 abnormal
  clips are scored.
- ``dcase2020-id00``: ``dcase2020t2-id00-zyy438``, 75 normal clips + 1 anomalous
  clip of one DCASE 2020 machine (id_00, probably a fan): 60 normals train, 15
  normals + the anomaly are scored. One anomaly: its AUC is the rank of that
  one clip, and pAUC is not reported (below the ">= 4 anomalous" bar); the
  useful number is ``false alarms``, the fraction of held-out normal clips that
  the fitted threshold flags (the DCASE rule aims at about 10 %).

Rows:

- ``CLI default``: ``sklearn-asd train FOLDER`` + ``sklearn-asd score`` on a
  plain folder holding the training clips (what a new user runs; the
  plain-folder default detector), timed end to end (train includes feature
  extraction).
- ``CLI --auxiliary``: the same with ``--auxiliary`` folders of the other shared
  machines (``dcase2020t2-dev-lite`` and ``dcase2023t2-dev-sample``, their normal
  clips of any split; for ``mimii-fan``, whose unit id is not recorded, without
  their fans, which could be the same unit); the saved detector scores with
  the seed's CNN branch; the same fitted model is also scored with
  ``score_method="knn"`` and ``"mahalanobis"`` (train time is the one fit's).
- Python rows on the same log-mel features: k-NN on band/MFCC/spectral
  statistics (the CLI default's detector, and on band statistics alone),
  IsolationForest on band statistics, the DCASE autoencoder baseline, the
  contrastive detector without auxiliary data (one class: its AE-branch
  fallback), and two ways to give the section classifier classes without other
  machines: resampled copies of the training clips (+-3 % and +-6 % speed, as
  pseudo-classes) and the package's synthetic machine sounds
  (``make_machine_sounds``, 4 sections) as auxiliary classes.
- PyOD (``pip install "sklearn-asd[bench]"``): ``EmbeddingOD.for_audio()`` and
  ``AudioAE``, as a new user would run them on the same files.

Usage::

    python benchmarks/real_clips.py [--data ../shared/datasets] [--seeds 0 1 2 3 4]
        [--cnn-seeds 0 1 2] [--sets mimii-fan dcase2020-id00] [--quick]

``--only-cli`` runs the command-line rows alone. ``--seeds`` drives the cheap
rows (classical, PyOD, CLI default), ``--cnn-seeds`` the rows that train a
MobileNetV2 (minutes per fit on 2 CPU cores). ``--quick`` (for the tests): one
seed, one set, tiny networks.
"""

import argparse
import contextlib
import csv
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_asd.utils._response import _anomaly_decisions, _anomaly_scores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "real_clips.json"
AUXILIARY_SETS = ("dcase2020t2-dev-lite", "dcase2023t2-dev-sample")
# tiny networks for --quick (tests): the numbers mean nothing
_QUICK_NET = {
    "max_epochs": 1,
    "width": 0.1,
    "last_channel": 16,
    "embedding_dim": 8,
    "ae_hidden_dim": 16,
    "ae_bottleneck_dim": 4,
    "patch_hop": 64,
}


# ----------------------------------------------------------------------- data
def load_sets(root, names):
    """Normal and anomalous files of each one-machine set, and its split rule."""
    from sklearn_asd.datasets import load_dcase

    sets = {}
    if "mimii-fan" in names:
        fan = load_dcase(root / "mimii-becode-demo-ch0", machine_type="fan")
        sets["mimii-fan"] = {
            "normal": np.sort(fan.filenames[fan.target == 0]),
            "anomalous": np.sort(fan.filenames[fan.target == 1]),
            "n_train": 6,
            "exclude_auxiliary": "fan",  # unit id unknown: no fan as auxiliary
        }
    if "dcase2020-id00" in names:
        d = load_dcase(root / "dcase2020t2-id00-zyy438")
        sets["dcase2020-id00"] = {
            "normal": np.sort(d.filenames[d.target == 0]),
            "anomalous": np.sort(d.filenames[d.target == 1]),
            "n_train": 60,
            "exclude_auxiliary": None,  # id_00: the auxiliary fans are id_06, 2023
        }
    return sets


def split(data, seed):
    """Random split of the normal clips: (train files, test files, test labels)."""
    order = np.random.default_rng(seed).permutation(len(data["normal"]))
    train = data["normal"][order[: data["n_train"]]]
    test_normal = data["normal"][order[data["n_train"] :]]
    test = np.r_[test_normal, data["anomalous"]]
    y = np.r_[np.zeros(len(test_normal), int), np.ones(len(data["anomalous"]), int)]
    return train, test, y


def _link_folder(folder, files):
    """A plain folder of symlinks ``clip_000.wav`` ... to ``files`` (in order)."""
    folder.mkdir()
    names = []
    for i, f in enumerate(files):
        name = folder / f"clip_{i:03d}{Path(f).suffix}"
        os.symlink(os.path.abspath(f), name)
        names.append(str(name))
    return names


# ----------------------------------------------------------------- measuring
def _metrics(y, scores):
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.metrics import partial_auc_score

    if scores is None:
        return float("nan"), float("nan")
    scores = np.asarray(scores, dtype=float)
    auc = roc_auc_score(y, scores)
    pauc = partial_auc_score(y, scores) if (y == 1).sum() >= 4 else float("nan")
    return auc, pauc


def _row(set_name, strategy, seed, y, scores, train_s, score_s, flagged, note=""):
    auc, pauc = _metrics(y, scores)
    false_alarms = float("nan")
    if flagged is not None:
        false_alarms = float(np.mean(np.asarray(flagged)[y == 0]))
    row = {
        "set": set_name,
        "strategy": strategy,
        "seed": seed,
        "auc": auc,
        "pauc": pauc,
        "false_alarms": false_alarms,
        "train_s": round(train_s, 2),
        "score_s": round(score_s, 2),
        "note": note,
    }
    print(row, flush=True)
    return row


def _read_plain_scores(csv_path, test_links):
    """Scores of ``anomaly_scores.csv`` (ranked) back in the order of the files."""
    by_path, flagged = {}, {}
    with open(csv_path, newline="") as f:
        for rec in csv.DictReader(f):
            key = os.path.basename(rec["path"])
            by_path[key] = float(rec["score"])
            flagged[key] = int(rec["decision"]) == 1
    keys = [os.path.basename(p) for p in test_links]
    return np.array([by_path[k] for k in keys]), np.array([flagged[k] for k in keys])


def _cli(argv):
    from sklearn_asd.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"sklearn-asd {' '.join(argv[:1])} failed: {err.getvalue()}")
    return err.getvalue()


def _without_machine(src, dst, machine):
    """A copy of the tree ``src`` (file symlinks) without machine type ``machine``.

    The MIMII fan of ``mimii-fan`` has no recorded unit id: the fans of the
    auxiliary sets (MIMII fan id_06 among them) could be the same unit, and an
    auxiliary class must be another machine.
    """
    for path in sorted(src.rglob("*.wav")):
        rel = path.relative_to(src)
        if machine is not None and rel.parts[0] == machine:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path.resolve(), dst / rel)
    return dst


def cli_rows(set_name, train, test, y, seed, aux_folders, quick, full_cnn, exclude):
    """The command line on plain folders: default, then with --auxiliary."""
    from sklearn_asd.persistence import load_model
    from sklearn_asd.scoring import score_files

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _link_folder(tmp / "train", train)
        test_links = _link_folder(tmp / "test", test)
        common = ["--quiet", "--random-state", str(seed)]
        variants = [("CLI default", [])]
        if aux_folders:
            folders = [
                _without_machine(folder, tmp / "aux" / folder.name, exclude)
                for folder in aux_folders
            ]
            aux = [a for folder in folders for a in ("--auxiliary", str(folder))]
            if quick:
                aux += [
                    a
                    for k, v in _QUICK_NET.items()
                    for a in ("--param", f"det__{k}={v}")
                ]
            variants.append(("CLI --auxiliary", aux))
            if full_cnn and not quick:
                # AUC against training time: the CLI's CPU budget for auxiliary
                # runs (10 epochs, hop 16) vs the estimator's (20 epochs, hop 8),
                # and the MobileNetV2 alone
                variants += [
                    (
                        "CLI --auxiliary --detector mobilenetv2",
                        [*aux, "--detector", "mobilenetv2"],
                    ),
                    (
                        "CLI --auxiliary, 20 epochs, patch hop 8",
                        [
                            *aux,
                            "--param",
                            "det__max_epochs=20",
                            "--param",
                            "det__patch_hop=8",
                        ],
                    ),
                ]
        for name, extra in variants:
            model = tmp / f"model{len(rows)}.joblib"
            t0 = time.perf_counter()
            log = _cli(
                ["train", str(tmp / "train"), "--out", str(model), *common, *extra]
            )
            train_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = tmp / f"scores-{model.stem}"
            _cli(["score", str(model), str(tmp / "test"), "--out", str(out), "--quiet"])
            score_s = time.perf_counter() - t0
            scores, flagged = _read_plain_scores(out / "anomaly_scores.csv", test_links)
            pipe = load_model(model)
            det = pipe[-1]
            label = type(det).__name__
            if hasattr(det, "score_branch_"):
                label += f", {det.score_branch_} branch"
            warned = "warning" in log.lower()
            note = label + (
                "; warned: " + log.strip().splitlines()[-1][:120] if warned else ""
            )
            rows.append(
                _row(set_name, name, seed, y, scores, train_s, score_s, flagged, note)
            )
            if name.startswith("CLI --auxiliary") and hasattr(det, "score_method"):
                for method in ("knn", "mahalanobis"):
                    det.set_params(score_method=method)
                    t0 = time.perf_counter()
                    s = score_files(pipe, test_links)
                    flagged = -s - det.offset_ < 0
                    rows.append(
                        _row(
                            set_name,
                            f"{name}, score_method={method}",
                            seed,
                            y,
                            s,
                            train_s,
                            time.perf_counter() - t0,
                            flagged,
                            label,
                        )
                    )
    return rows


def _pitch_copies(W, factors):
    """Resampled copies of waveforms (speed/pitch changed by each factor)."""
    import soxr

    n = W.shape[1]
    out = []
    for factor in factors:
        copies = []
        for w in W:
            r = soxr.resample(w.astype(np.float64), 16000 * factor, 16000)
            r = np.resize(r, n) if r.shape[0] < n else r[:n]
            copies.append(r.astype(np.float32))
        out.append(np.stack(copies))
    return out


def python_rows(set_name, train, test, y, seed, run_cnn, quick, extra_classes):
    """Detectors on the same log-mel features, fitted from Python."""
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator, KNNDetector
    from sklearn_asd.datasets import make_machine_sounds
    from sklearn_asd.features import AudioLoader, BandStatistics, LogMelSpectrogram

    load = AudioLoader(duration=10.0).fit(train[:1])
    mel = LogMelSpectrogram().fit(load.transform(train[:1]))
    W_train = load.transform(list(train))
    X_train, X_test = mel.transform(W_train), mel.transform(load.transform(list(test)))
    all_stats = ("bands", "mfcc", "spectral")
    candidates = {
        "kNN on band+MFCC+spectral stats": lambda: make_pipeline(
            BandStatistics(features=all_stats), StandardScaler(), KNNDetector()
        ),
        "kNN on band stats": lambda: make_pipeline(
            BandStatistics(), StandardScaler(), KNNDetector()
        ),
        "IsolationForest on band stats": lambda: make_pipeline(
            BandStatistics(), IsolationForest(random_state=seed)
        ),
    }
    # the CLI's CPU budget of auxiliary runs (10 epochs, patches every 16 frames)
    net = _QUICK_NET if quick else {"max_epochs": 10, "patch_hop": 16}
    if run_cnn:
        candidates["AE baseline (DCASE)"] = lambda: AutoencoderBaseline(
            random_state=seed, **({"max_epochs": 1} if quick else {})
        )
        candidates["contrastive, no auxiliary (AE-branch fallback)"] = lambda: (
            ContrastiveASDEstimator(random_state=seed, **net)
        )
    rows = []
    for name, make in candidates.items():
        det = make()
        t0 = time.perf_counter()
        det.fit(X_train)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = _anomaly_scores(det, X_test)
        score_s = time.perf_counter() - t0
        flagged = _anomaly_decisions(det, scores) == 1
        rows.append(_row(set_name, name, seed, y, scores, train_s, score_s, flagged))
    if not (run_cnn and extra_classes):
        return rows
    # classes for the section classifier without other machines' recordings
    pseudo = _pitch_copies(W_train, (0.94, 0.97, 1.03, 1.06))
    synthetic = make_machine_sounds(
        n_normal=8 * 4, n_anomalous=0, n_sections=4, duration=10.0, random_state=seed
    )
    extra = {
        "pseudo-classes (resampled copies)": (
            np.concatenate([mel.transform(p) for p in pseudo]),
            np.repeat([f"aux:speed{k}" for k in range(len(pseudo))], len(W_train)),
        ),
        "synthetic machines as auxiliary": (
            mel.transform(synthetic.data),
            np.array([f"aux:synthetic/{s}" for s in synthetic.sections]),
        ),
    }
    for name, (X_aux, aux_sections) in extra.items():
        X = np.r_[X_train, X_aux]
        sections = np.r_[np.array(["machine"] * len(X_train)), aux_sections].astype(
            object
        )
        det = ContrastiveASDEstimator(
            auxiliary_classes=sorted(set(aux_sections.tolist())),
            score_branch="cnn",
            random_state=seed,
            **net,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            det.fit(X, sections=sections)
        train_s = time.perf_counter() - t0
        note = "; ".join(str(w.message)[:100] for w in caught[:1])
        for method in ("softmax", "knn"):
            det.set_params(score_method=method)
            t0 = time.perf_counter()
            scores = _anomaly_scores(det, X_test)
            score_s = time.perf_counter() - t0
            flagged = _anomaly_decisions(det, scores) == 1
            rows.append(
                _row(
                    set_name,
                    f"{name}, {method}",
                    seed,
                    y,
                    scores,
                    train_s,
                    score_s,
                    flagged,
                    note,
                )
            )
    return rows


def pyod_rows(set_name, train, test, y, seed):
    """PyOD's audio detectors on the same files (skipped without PyOD)."""
    try:
        from pyod.models.audio_ae import AudioAE
        from pyod.models.embedding import EmbeddingOD
    except ImportError:
        print("pyod is not installed: PyOD rows skipped", flush=True)
        return []
    rows = []
    for name, make in (
        ("PyOD EmbeddingOD.for_audio()", lambda: EmbeddingOD.for_audio()),
        ("PyOD AudioAE", lambda: AudioAE(random_state=seed)),
    ):
        det = make()
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            det.fit(list(train))
            train_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            scores = _anomaly_scores(det, list(test))
            score_s = time.perf_counter() - t0
            flagged = _anomaly_decisions(det, scores) == 1
        rows.append(_row(set_name, name, seed, y, scores, train_s, score_s, flagged))
    return rows


# -------------------------------------------------------------------- summary
def summarise(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["set"], r["strategy"]), []).append(r)
    table = [
        "| set | strategy | seeds | AUC | pAUC | false alarms | train s | score s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(values, digits=3):
        v = np.asarray(values, dtype=float)
        if np.isnan(v).all():
            return "n/a"
        return f"{np.nanmean(v):.{digits}f} ± {np.nanstd(v):.{digits}f}"

    for (set_name, strategy), rs in groups.items():
        table.append(
            f"| {set_name} | {strategy} | {len(rs)} | "
            f"{cell([r['auc'] for r in rs])} | {cell([r['pauc'] for r in rs])} | "
            f"{cell([r['false_alarms'] for r in rs], 2)} | "
            f"{np.mean([r['train_s'] for r in rs]):.1f} | "
            f"{np.mean([r['score_s'] for r in rs]):.2f} |"
        )
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=HERE.parent.parent / "shared" / "datasets"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cnn-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["mimii-fan", "dcase2020-id00"],
        choices=["mimii-fan", "dcase2020-id00"],
    )
    parser.add_argument("--no-pyod", action="store_true")
    parser.add_argument(
        "--only-cli",
        action="store_true",
        help="only the CLI default and CLI --auxiliary rows (with its back-ends)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny run for the tests")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no datasets folder at {args.data}", file=sys.stderr)
        return 2
    if args.quick:
        args.seeds, args.cnn_seeds, args.sets = [0], [0], ["mimii-fan"]
    aux_folders = [args.data / name for name in AUXILIARY_SETS]
    aux_folders = [f for f in aux_folders if f.is_dir()]
    rows = []
    for set_name, data in load_sets(args.data, args.sets).items():
        for seed in args.seeds:
            train, test, y = split(data, seed)
            run_cnn = seed in args.cnn_seeds
            rows += cli_rows(
                set_name,
                train,
                test,
                y,
                seed,
                aux_folders if run_cnn else [],
                args.quick,
                full_cnn=run_cnn and set_name == "mimii-fan" and not args.only_cli,
                exclude=data["exclude_auxiliary"],
            )
            if args.only_cli:
                continue
            rows += python_rows(
                set_name,
                train,
                test,
                y,
                seed,
                run_cnn,
                args.quick,
                extra_classes=set_name == "mimii-fan",
            )
            if not args.no_pyod and not args.quick:
                rows += pyod_rows(set_name, train, test, y, seed)
    table = summarise(rows)
    write_json(
        args.out,
        {
            "benchmark": "real_clips",
            "command": "python benchmarks/real_clips.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": machine_info(),
            "rows": rows,
            "table": table,
        },
    )
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
