# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Training and inference throughput: MobileNetV2 alone vs dual-branch + contrastive.

In one run, on the same synthetic log-mel features (128 mels, 64-frame patches):

- training patches/s of ``ContrastiveASDEstimator(branches="cnn")`` (the MobileNetV2
  baseline) and of the default dual-branch model with the contrastive loss, each
  for ``--epochs`` epochs (the first epoch is excluded as warm-up);
- inference clips/s of both (scoring uses the CNN branch only, so they should
  match), with the default scoring hop (8), a scoring hop of 32 and
  ``score_mode="shared"`` (convolutions once per clip), plus the Spearman rank
  correlation of the faster modes' scores with the hop-8 scores;
- peak RSS of the process after each stage (``resource.getrusage``; a high-water
  mark, so it only grows).

Usage::

    python benchmarks/bench_training.py            # 40 clips of 10 s, 3 epochs
    python benchmarks/bench_training.py --quick    # 8 clips of 10 s, 2 epochs
    python benchmarks/bench_training.py --device cuda
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, peak_rss_mb, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "training.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=None, help="default 40")
    parser.add_argument("--epochs", type=int, default=None, help="default 6")
    parser.add_argument(
        "--quick", action="store_true", help="8 clips, 2 epochs (smoke run)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.n_clips is None:
        args.n_clips = 8 if args.quick else 40
    if args.epochs is None:
        # 5 timed epochs after the warm-up: 2 timed epochs gave 12.8-33.5 %
        # training overhead between runs on a shared machine
        args.epochs = 2 if args.quick else 6
    if args.n_clips < 4 or args.epochs < 1:
        parser.error("--n-clips must be >= 4 and --epochs >= 1")

    import torch

    from sklearn_asd import ContrastiveASDEstimator
    from sklearn_asd.datasets import make_machine_sounds
    from sklearn_asd.features import LogMelSpectrogram

    sounds = make_machine_sounds(n_normal=args.n_clips, n_anomalous=0, random_state=0)
    X = LogMelSpectrogram().fit_transform(sounds.data)
    rows = []
    base = {"max_epochs": args.epochs, "random_state": 0, "device": args.device}
    for name, params in [
        ("MobileNetV2 alone (branches='cnn')", {"branches": "cnn"}),
        ("dual-branch + contrastive (default)", {}),
    ]:
        det = ContrastiveASDEstimator(**base, **params)
        t0 = time.perf_counter()
        det.fit(X, sections=sounds.sections)
        fit_s = time.perf_counter() - t0
        durs = [h["dur"] for h in det.history_]
        n_patches = sum(b["train_batch_size"] for b in det.history_[-1]["batches"])
        steady = float(np.mean(durs[1:])) if len(durs) > 1 else durs[0]
        row = {
            "model": name,
            "train_patches_per_epoch": n_patches,
            "train_patches_per_s": round(n_patches / steady, 1),
            "fit_seconds": round(fit_s, 1),
            "peak_rss_mb_after_fit": round(peak_rss_mb(), 1),
        }
        scores = {}
        for mode, hop in (("patches", None), ("patches", 32), ("shared", None)):
            det.set_params(score_hop=hop, score_mode=mode)
            det.anomaly_score(X[:4], sections=sounds.sections[:4])  # warm-up
            t0 = time.perf_counter()
            scores[mode, hop] = det.anomaly_score(X, sections=sounds.sections)
            key = f"hop{hop or det.patch_hop}" if mode == "patches" else "shared"
            row[f"score_clips_per_s_{key}"] = round(
                len(X) / (time.perf_counter() - t0), 1
            )
        # how closely the faster modes rank the clips like the seed's scoring
        for key, other in (("hop32", ("patches", 32)), ("shared", ("shared", None))):
            rho = stats.spearmanr(scores["patches", None], scores[other]).statistic
            row[f"spearman_vs_hop8_{key}"] = round(float(rho), 3)
        row["peak_rss_mb_after_scoring"] = round(peak_rss_mb(), 1)
        rows.append(row)
        print(row, flush=True)
    overhead = rows[0]["train_patches_per_s"] / rows[1]["train_patches_per_s"] - 1
    out = {
        "benchmark": "training",
        "quick": args.quick,
        "command": f"python benchmarks/bench_training.py --n-clips {args.n_clips} "
        f"--epochs {args.epochs} --device {args.device}",
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else None,
        "rows": rows,
        "dual_training_overhead": round(overhead, 3),
    }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
