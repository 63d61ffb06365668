# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Peak memory of scoring many wav files with ``sklearn_asd.scoring.score_files``.

A scikit-learn ``Pipeline`` holds all of ``X`` at once; ``score_files`` feeds it
``chunk_size`` files at a time, so its memory should not grow with the number of
files. This benchmark checks that, in one run:

1. writes ``--n-distinct`` synthetic clips (``make_machine_sounds``) as 16-kHz
   16-bit wav files to a temporary folder;
2. for each N of ``--n-clips``, starts a fresh Python process that imports
   sklearn_asd and torch, fits the pipeline ``AudioLoader -> LogMelSpectrogram ->
   MedianFilter -> ContrastiveASDEstimator`` (a tiny detector, one epoch) on the
   first ``--n-train`` files, records its resident memory (the *baseline*),
   resets the high-water mark (``/proc/self/clear_refs``; where that is not
   possible the peak includes the fit, and the results say so) and scores N
   paths through ``score_files(..., chunk_size=...)``; the N paths cycle through
   the distinct files, so a 10,000-clip run needs only ``--n-distinct`` files on
   disk (they are read from the page cache after the first pass);
3. for contrast, one more process scores ``--contrast-n`` paths in a single
   chunk (everything in memory at once, as ``Pipeline.decision_function``
   would).

Reported per N: baseline RSS (after imports + fit), peak RSS while scoring
(``VmHWM``), growth = peak - baseline, scoring clips/s, and what holding all N
waveforms and log-mel features in memory would take (N x bytes per clip). The
headline figures are the ratio of the peaks of the largest and smallest N and
the growth per 1,000 extra clips next to the all-in-memory cost per 1,000
clips. Each worker also checks that every repeat of a file got the same score.

Usage::

    python benchmarks/bench_memory.py            # 1,000 and 10,000 clips of 10 s
    python benchmarks/bench_memory.py --quick    # 100 and 1,000 clips of 1 s
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (
    current_rss_mb,
    machine_info,
    peak_rss_mb,
    reset_peak_rss,
    write_json,
)

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"

# full: DCASE-like 10-s clips and the baseline log-mel features (128 mels);
# quick: 1-s clips, same features, a detector with shorter patches
SETTINGS = {
    "full": {
        "n_clips": [1000, 10000],
        "chunk_size": 256,
        "duration": 10.0,
        "n_distinct": 100,
        "n_train": 32,
        "contrast_n": 1000,
        "patch_frames": 64,
        "patch_hop": 32,
    },
    "quick": {
        "n_clips": [100, 1000],
        "chunk_size": 64,
        "duration": 1.0,
        "n_distinct": 40,
        "n_train": 16,
        "contrast_n": 1000,
        "patch_frames": 16,
        "patch_hop": 8,
    },
}
SR = 16000
MEL = {"n_mels": 128, "n_fft": 1024, "hop_length": 512}


def detector_params(settings, device):
    """The tiny detector every worker fits (one epoch, shared scoring)."""
    return {
        "n_mels": MEL["n_mels"],
        "patch_frames": settings["patch_frames"],
        "patch_hop": settings["patch_hop"],
        "score_mode": "shared",
        "width": 0.25,
        "last_channel": 32,
        "embedding_dim": 8,
        "ae_hidden_dim": 32,
        "ae_bottleneck_dim": 8,
        "max_epochs": 1,
        "batch_size": 64,
        "device": device,
        "random_state": 0,
    }


def worker(config_path, n_clips, chunk_size):
    """Fit, then score ``n_clips`` paths in this process; print one JSON line."""
    config = json.loads(Path(config_path).read_text())
    import sklearn
    import torch
    from sklearn.pipeline import Pipeline

    from sklearn_asd import ContrastiveASDEstimator
    from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter
    from sklearn_asd.scoring import score_files

    rss_imports = current_rss_mb()
    distinct = np.array(config["paths"], dtype=object)
    sections = np.array(config["sections"], dtype=object)
    n_train = config["n_train"]
    pipe = Pipeline(
        [
            ("load", AudioLoader(sr=SR, duration=config["duration"])),
            ("mel", LogMelSpectrogram(sr=SR, **MEL)),
            ("mf", MedianFilter(n_mels=MEL["n_mels"])),
            ("det", ContrastiveASDEstimator(**config["detector"])),
        ]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(distinct[:n_train], sections=sections[:n_train])
    baseline = current_rss_mb()
    fit_peak = peak_rss_mb()
    reset = reset_peak_rss()

    reps = np.arange(n_clips) % distinct.shape[0]
    t0 = time.perf_counter()
    scores = score_files(
        pipe, distinct[reps], sections=sections[reps], chunk_size=chunk_size
    )
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    if baseline is None:  # no /proc: the high-water mark is all we have
        baseline = fit_peak
    if not np.all(np.isfinite(scores)):
        raise RuntimeError("score_files returned non-finite scores")
    first = scores[: distinct.shape[0]]
    det = pipe[-1]
    out = {
        "n_clips": int(n_clips),
        "chunk_size": int(chunk_size),
        "rss_after_imports_mb": None if rss_imports is None else round(rss_imports, 1),
        "baseline_rss_mb": round(baseline, 1),
        "fit_peak_rss_mb": round(fit_peak, 1),
        "peak_rss_mb": round(peak, 1),
        "growth_mb": round(peak - baseline, 1),
        "peak_includes_fit": not reset,
        "scoring_seconds": round(seconds, 2),
        "score_clips_per_s": round(n_clips / seconds, 1),
        "max_abs_diff_repeated_files": float(np.abs(scores - first[reps]).max()),
        "waveform_bytes_per_clip": int(pipe[0].n_samples_) * 4,
        "feature_bytes_per_clip": int(det.n_features_in_) * 4,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(out), flush=True)


def run_worker(config_path, n_clips, chunk_size):
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(config_path),
        "--n-clips",
        str(n_clips),
        "--chunk-size",
        str(chunk_size),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"memory worker for {n_clips} clips failed (exit {proc.returncode}):\n"
            + proc.stderr[-4000:]
        )
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-s clips, 100/1,000")
    parser.add_argument("--n-clips", type=int, nargs="+", default=None)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds")
    parser.add_argument("--n-distinct", type=int, default=None)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument(
        "--contrast-n",
        type=int,
        default=None,
        help="clips scored in one chunk for contrast (0: skip)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker, args.n_clips[0], args.chunk_size)
        return 0

    settings = dict(SETTINGS["quick" if args.quick else "full"])
    for key in settings:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    n_list = sorted(set(settings["n_clips"]))
    if len(n_list) < 2 or n_list[0] < 1:
        parser.error("--n-clips needs two or more different positive numbers")
    if settings["chunk_size"] < 1 or settings["duration"] <= 0:
        parser.error("--chunk-size must be >= 1 and --duration > 0")
    if not 2 <= settings["n_train"] <= settings["n_distinct"]:
        parser.error("--n-train must be between 2 and --n-distinct")
    if settings["contrast_n"] < 0:
        parser.error("--contrast-n must be >= 0")

    import soundfile as sf

    from sklearn_asd.datasets import make_machine_sounds

    sounds = make_machine_sounds(
        n_normal=settings["n_distinct"],
        n_anomalous=0,
        duration=settings["duration"],
        sr=SR,
        random_state=0,
    )
    det = detector_params(settings, args.device)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, y in enumerate(sounds.data):
            paths.append(str(Path(tmp) / f"clip_{i:05d}.wav"))
            sf.write(paths[-1], y, SR, subtype="PCM_16")
        config = Path(tmp) / "config.json"
        config.write_text(
            json.dumps(
                {
                    "paths": paths,
                    "sections": [str(s) for s in sounds.sections],
                    "n_train": settings["n_train"],
                    "duration": settings["duration"],
                    "detector": det,
                }
            )
        )
        rows = [run_worker(config, n, settings["chunk_size"]) for n in n_list]
        contrast = None
        if settings["contrast_n"]:
            n = settings["contrast_n"]
            contrast = run_worker(config, n, n)
    wall = time.perf_counter() - t_start

    per_clip = rows[0]["waveform_bytes_per_clip"] + rows[0]["feature_bytes_per_clip"]
    for row in rows + ([contrast] if contrast else []):
        row["all_in_memory_mb"] = round(row["n_clips"] * per_clip / 2**20, 1)
    small, large = rows[0], rows[-1]
    extra = (large["n_clips"] - small["n_clips"]) / 1000
    quick = args.quick
    out = {
        "benchmark": "memory",
        "quick": quick,
        "command": "python benchmarks/bench_memory.py"
        + (" --quick" if quick else "")
        + f" --n-clips {' '.join(map(str, n_list))}"
        f" --chunk-size {settings['chunk_size']} --duration {settings['duration']}"
        f" --n-distinct {settings['n_distinct']} --n-train {settings['n_train']}"
        f" --contrast-n {settings['contrast_n']} --device {args.device}",
        "machine": machine_info(),
        "device": args.device,
        "clips": {
            "duration_s": settings["duration"],
            "sr": SR,
            "format": "16-bit PCM wav, make_machine_sounds(random_state=0)",
            "n_distinct_files": settings["n_distinct"],
            "note": f"N paths cycle through {settings['n_distinct']} distinct "
            "files (read from the page cache after the first pass) to spare disk "
            "space and time; reading and all computation still run once per path",
        },
        "pipeline": {
            "steps": "AudioLoader -> LogMelSpectrogram -> MedianFilter -> "
            "ContrastiveASDEstimator",
            "log_mel": MEL,
            "detector": det,
            "n_train": settings["n_train"],
        },
        "chunk_size": settings["chunk_size"],
        # False: the smallest run scores less than one chunk, so its peak is
        # not yet that of a full chunk and the ratios understate the bound
        "smallest_n_fills_a_chunk": n_list[0] >= settings["chunk_size"],
        "waveform_bytes_per_clip": rows[0]["waveform_bytes_per_clip"],
        "feature_bytes_per_clip": rows[0]["feature_bytes_per_clip"],
        "rows": rows,
        "contrast_one_chunk": contrast,
        "peak_ratio_largest_vs_smallest": round(
            large["peak_rss_mb"] / small["peak_rss_mb"], 3
        ),
        "clips_ratio_largest_vs_smallest": round(
            large["n_clips"] / small["n_clips"], 3
        ),
        # growth (peak - baseline) is measured inside one process; the peaks of
        # two processes also differ by their baselines (fit, allocator)
        "growth_mb_per_1000_extra_clips": round(
            (large["growth_mb"] - small["growth_mb"]) / extra, 2
        ),
        "all_in_memory_mb_per_1000_clips": round(1000 * per_clip / 2**20, 1),
        "wall_seconds": round(wall, 1),
    }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
