# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fit time of the contrastive detector vs the number of training clips.

In one run: ``max(--n-clips)`` synthetic clips (``make_machine_sounds``, 1 s,
three sections) become log-mel features once (16 mels, ``n_fft=256``,
``hop_length=128``: 126 frames per clip); then a tiny
``ContrastiveASDEstimator`` (dual branch + contrastive loss, 16-frame patches,
hop 8, width 0.25, batch 64, ``--epochs`` epochs: 2, or 1 with ``--quick``)
is fitted on the first n clips for each n of ``--n-clips``, after one warm-up
fit that is not counted.
``fit`` covers everything the estimator does: training epochs, the batch-norm
re-estimation pass and the training scores for the threshold.

Reported: fit seconds per n, seconds per clip, and a least-squares line
``fit_seconds = intercept + slope * n`` with its R^2. A linear cost shows as
R^2 close to 1 and a roughly constant time per clip (the intercept is the
fixed cost: building the network, the threshold fit).

Usage::

    python benchmarks/bench_scaling.py            # 100, 1,000, 5,000 clips
    python benchmarks/bench_scaling.py --quick    # 50, 100, 200 clips
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "scaling.json"
MEL = {"sr": 16000, "n_mels": 16, "n_fft": 256, "hop_length": 128}
DETECTOR = {
    "n_mels": 16,
    "patch_frames": 16,
    "patch_hop": 8,
    "width": 0.25,
    "last_channel": 32,
    "embedding_dim": 8,
    "ae_hidden_dim": 32,
    "ae_bottleneck_dim": 8,
    "batch_size": 64,
    "random_state": 0,
}


def fit_line(x, y):
    """Least-squares ``y = intercept + slope * x``; returns (slope, intercept, r2).

    ``r2`` is the coefficient of determination, 1.0 for points exactly on a
    line (and for constant ``y``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError("fit_line needs two 1-d arrays of equal length >= 2")
    if np.ptp(x) == 0:
        raise ValueError("fit_line needs at least two different x values")
    slope, intercept = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (intercept + slope * x)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 if ss_tot == 0 else 1.0 - ss_res / ss_tot
    return float(slope), float(intercept), r2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50, 100, 200 clips")
    parser.add_argument("--n-clips", type=int, nargs="+", default=None)
    parser.add_argument(
        "--epochs", type=int, default=None, help="default 2 (--quick: 1)"
    )
    parser.add_argument("--duration", type=float, default=1.0, help="seconds")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.n_clips is None:
        args.n_clips = [50, 100, 200] if args.quick else [100, 1000, 5000]
    if args.epochs is None:
        args.epochs = 1 if args.quick else 2
    n_list = sorted(set(args.n_clips))
    if len(n_list) < 2 or n_list[0] < 8:
        parser.error("--n-clips needs two or more different numbers, each >= 8")
    if args.epochs < 1 or args.duration < 0.2:
        parser.error("--epochs must be >= 1 and --duration >= 0.2 s")

    import torch

    from sklearn_asd import ContrastiveASDEstimator
    from sklearn_asd.datasets import make_machine_sounds
    from sklearn_asd.features import LogMelSpectrogram

    t0 = time.perf_counter()
    sounds = make_machine_sounds(
        n_normal=n_list[-1],
        n_anomalous=0,
        n_sections=3,
        duration=args.duration,
        random_state=0,
    )
    X = LogMelSpectrogram(**MEL).fit_transform(sounds.data)
    sections = sounds.sections
    del sounds
    data_s = time.perf_counter() - t0
    params = {**DETECTOR, "max_epochs": args.epochs, "device": args.device}

    # warm-up: thread pools, allocator, lazy imports (not counted)
    ContrastiveASDEstimator(**{**params, "max_epochs": 1}).fit(
        X[:16], sections=sections[:16]
    )
    rows = []
    for n in n_list:
        det = ContrastiveASDEstimator(**params)
        t0 = time.perf_counter()
        det.fit(X[:n], sections=sections[:n])
        seconds = time.perf_counter() - t0
        epochs = [h["dur"] for h in det.history_]
        patches = sum(b["train_batch_size"] for b in det.history_[-1]["batches"])
        row = {
            "n_clips": n,
            "fit_seconds": round(seconds, 3),
            "seconds_per_1000_clips": round(1000 * seconds / n, 2),
            "epochs": len(epochs),
            "epoch_seconds": round(float(np.sum(epochs)), 3),
            "train_patches_per_epoch": int(patches),
            "train_patches_per_s": round(patches * len(epochs) / np.sum(epochs), 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    n = [r["n_clips"] for r in rows]
    slope, intercept, r2 = fit_line(n, [r["fit_seconds"] for r in rows])
    per_clip = [r["fit_seconds"] / r["n_clips"] for r in rows]
    out = {
        "benchmark": "scaling",
        "quick": args.quick,
        "command": "python benchmarks/bench_scaling.py"
        + (" --quick" if args.quick else "")
        + f" --n-clips {' '.join(map(str, n_list))} --epochs {args.epochs}"
        f" --duration {args.duration} --device {args.device}",
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "clip_seconds": args.duration,
        "log_mel": MEL,
        "n_frames_per_clip": int(X.shape[1] // MEL["n_mels"]),
        "detector": params,
        "data_seconds": round(data_s, 1),
        "rows": rows,
        "line": {
            "seconds_per_1000_clips": round(1000 * slope, 3),
            "intercept_seconds": round(intercept, 3),
            "r2": round(r2, 4),
        },
        # 1.0 = the same time per clip at the largest and the smallest n
        "per_clip_time_ratio_largest_vs_smallest": round(per_clip[-1] / per_clip[0], 3),
    }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
