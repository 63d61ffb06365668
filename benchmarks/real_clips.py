# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Detectors side by side on the real DCASE/MIMII clips in ../shared/datasets.

Small-sample results (a handful of clips): they check that the detectors separate
real anomalies better than chance, they are not DCASE results. Two named splits:

- ``mimii-fan``: ``mimii-becode-demo-ch0/fan``: the first 6 normal clips by file
  name train; the other 4 normals and the 10 abnormal clips are scored. One
  section (the MIMII id is unknown), so the contrastive detector scores with its
  autoencoder branch (its documented single-section fallback) and the MobileNetV2
  baseline cannot be trained.
- ``dcase2023``: ``dcase2023t2-dev-sample``: all ``train/`` clips (2 per machine
  type) train with the machine type as the class; all ``test/`` clips are scored
  with their machine type as section.

Detectors: ContrastiveASDEstimator (seed CNN score; and the AE-branch score of
the same fitted model), the MobileNetV2 baseline (``branches="cnn"``), the DCASE
AE baseline, and an IsolationForest on per-band log-mel mean/std, all on the same
log-mel features (+ MedianFilter for the "+MF" rows); and, when PyOD is installed
(``pip install "sklearn-asd[bench]"``), PyOD's audio detectors as a new user would
run them on the same files: ``EmbeddingOD.for_audio()`` (MFCC/chroma statistics +
kNN) and ``AudioAE`` (defaults). Mean and std over ``--seeds`` seeds.

Usage::

    python benchmarks/real_clips.py [--data ../shared/datasets] [--seeds 0 1 2]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "real_clips.json"


def load_splits(root):
    from sklearn_asd.datasets import load_dcase

    splits = {}
    fan = load_dcase(root / "mimii-becode-demo-ch0", machine_type="fan")
    normal = np.sort(fan.filenames[fan.target == 0])
    train = normal[:6]
    test = np.r_[normal[6:], np.sort(fan.filenames[fan.target == 1])]
    y_test = np.r_[
        np.zeros(len(normal) - 6, int), np.ones((fan.target == 1).sum(), int)
    ]
    splits["mimii-fan"] = {
        "train": train,
        "train_sections": np.array(["fan"] * len(train)),
        "test": test,
        "test_sections": np.array(["fan"] * len(test)),
        "y_test": y_test,
    }
    d23 = load_dcase(root / "dcase2023t2-dev-sample")
    tr, te = d23.splits == "train", d23.splits == "test"
    splits["dcase2023"] = {
        "train": d23.filenames[tr],
        "train_sections": d23.machine_types[tr],
        "test": d23.filenames[te],
        "test_sections": d23.machine_types[te],
        "y_test": d23.target[te],
    }
    return splits


def detectors(seed):
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline

    from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
    from sklearn_asd.features import BandStatistics

    small = {"max_epochs": 20, "batch_size": 32, "lr": 1e-3, "random_state": seed}
    return {
        # one fit, scored with its own branch and with the AE branch (below)
        "contrastive (CNN score)": ContrastiveASDEstimator(
            score_branch="auto", **small
        ),
        "MobileNetV2 baseline": ContrastiveASDEstimator(branches="cnn", **small),
        "AE baseline": AutoencoderBaseline(
            max_epochs=100, batch_size=512, random_state=seed
        ),
        "IsolationForest (band mean/std)": make_pipeline(
            BandStatistics(), IsolationForest(random_state=seed)
        ),
    }


def _row(split_name, mf, detector, seed, split, scores, seconds, note):
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.metrics import partial_auc_score

    if scores is None:
        auc = pauc = float("nan")
    else:
        auc = roc_auc_score(split["y_test"], scores)
        pauc = partial_auc_score(split["y_test"], scores)
    return {
        "split": split_name,
        "median_filter": mf,
        "detector": detector,
        "seed": seed,
        "auc": auc,
        "pauc": pauc,
        "seconds": seconds,
        "note": note,
    }


def _pyod_rows(split_name, split, seeds):
    """PyOD's audio detectors on the same files (skipped without PyOD)."""
    import contextlib
    import io
    import warnings

    try:
        from pyod.models.audio_ae import AudioAE
        from pyod.models.embedding import EmbeddingOD
    except ImportError:
        print("pyod is not installed: PyOD rows skipped", flush=True)
        return []
    rows = []
    for seed in seeds:
        for det_name, make in (
            ("PyOD EmbeddingOD.for_audio()", lambda: EmbeddingOD.for_audio()),
            ("PyOD AudioAE", lambda: AudioAE(random_state=seed)),
        ):
            t0 = time.perf_counter()
            note = "fit on the files, PyOD defaults"
            try:
                det = make()
                with (
                    warnings.catch_warnings(),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    warnings.simplefilter("ignore")
                    det.fit(list(split["train"]))
                    # PyOD's decision_function: higher = more anomalous
                    scores = np.asarray(
                        det.decision_function(list(split["test"])), dtype=float
                    )
            except Exception as exc:  # report, do not stop the other rows
                scores = None
                note = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
            seconds = round(time.perf_counter() - t0, 1)
            rows.append(
                _row(split_name, False, det_name, seed, split, scores, seconds, note)
            )
            print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=HERE.parent.parent / "shared" / "datasets"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no datasets folder at {args.data}", file=sys.stderr)
        return 2

    from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter

    rows = []
    for name, split in load_splits(args.data).items():
        loader = AudioLoader(duration=10.0).fit(split["train"])
        mel = LogMelSpectrogram().fit(loader.transform(split["train"][:1]))
        Xtr = mel.transform(loader.transform(split["train"]))
        Xte = mel.transform(loader.transform(split["test"]))
        mf = MedianFilter().fit(Xtr)
        feats = {False: (Xtr, Xte), True: (mf.transform(Xtr), mf.transform(Xte))}
        for mf, (Xtr, Xte) in feats.items():
            for seed in args.seeds:
                for det_name, det in detectors(seed).items():
                    t0 = time.perf_counter()
                    scored = {}
                    try:
                        if hasattr(det, "anomaly_score"):  # sklearn_asd detectors
                            det.fit(Xtr, sections=split["train_sections"])
                            scored[det_name] = det.anomaly_score(
                                Xte, sections=split["test_sections"]
                            )
                            branch = getattr(det, "score_branch_", None)
                            if det_name.startswith("contrastive"):
                                det.set_params(score_branch="ae")
                                scored["contrastive (AE-branch score)"] = (
                                    det.anomaly_score(Xte)
                                )
                        else:  # IsolationForest pipeline: DCASE sign
                            scored[det_name] = -det.fit(Xtr).decision_function(Xte)
                            branch = None
                        note = f"scored with the {branch} branch" if branch else ""
                    except ValueError as exc:
                        scored[det_name] = None
                        note = str(exc).split(":")[0]
                    seconds = round(time.perf_counter() - t0, 1)
                    for row_name, s in scored.items():
                        if row_name != det_name:
                            note = "scored with the ae branch"
                        rows.append(
                            _row(name, mf, row_name, seed, split, s, seconds, note)
                        )
                        print(rows[-1], flush=True)
            if not mf:
                rows += _pyod_rows(name, split, args.seeds)
    summary = {}
    for r in rows:
        key = (
            r["split"],
            r["detector"] + (" +MF" if r["median_filter"] else ""),
            r["note"],
        )
        summary.setdefault(key, []).append((r["auc"], r["pauc"]))
    table = [
        "| split | detector | AUC (mean ± std) | pAUC (mean ± std) | note |",
        "|---|---|---:|---:|---|",
    ]
    for (split_name, det_name, note), values in summary.items():
        v = np.array(values, dtype=float)
        if np.isnan(v).all():
            table.append(f"| {split_name} | {det_name} | n/a | n/a | {note} |")
            continue
        m, sd = v.mean(0), v.std(0)
        table.append(
            f"| {split_name} | {det_name} | {m[0]:.3f} ± {sd[0]:.3f} | "
            f"{m[1]:.3f} ± {sd[1]:.3f} | {note} |"
        )
    out = {
        "benchmark": "real_clips",
        "command": "python benchmarks/real_clips.py --seeds "
        + " ".join(map(str, args.seeds)),
        "machine": machine_info(),
        "rows": rows,
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, args.out)
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
