# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Feature-extraction throughput: AudioLoader + LogMelSpectrogram vs a librosa loop.

Writes N synthetic 10-s 16-kHz clips as 16-bit wav files to a temporary folder, then
times, in the same run and on the same files:

- ``loop``: the DCASE baseline way, one clip at a time:
  ``librosa.load(path, sr=None)`` then ``librosa.feature.melspectrogram(...,
  center=True, pad_mode="reflect")`` and ``10 * log10(max(S, eps))``;
- ``sklearn_asd n_jobs=1`` and ``n_jobs=2``: ``AudioLoader`` then
  ``LogMelSpectrogram`` with the same parameters.

Each variant runs once to warm up (imports, numba compilation, page cache), then
``--repeats`` times; the median wall time is reported. Peak memory is the peak of
Python-traced allocations (``tracemalloc``; numpy reports its buffers to it) during
one run, which includes the returned feature matrix. Results go to
``benchmarks/results/features.json``; ``--markdown`` prints the docs table.

Usage::

    python benchmarks/bench_features.py            # 200 clips, 3 repeats
    python benchmarks/bench_features.py --quick    # 16 clips, 1 repeat
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
PARAMS = {"sr": 16000, "n_fft": 1024, "hop_length": 512, "n_mels": 128, "power": 2.0}


def _librosa_log_mel(y, sr):
    import librosa

    S = librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        **{k: v for k, v in PARAMS.items() if k != "sr"},
        center=True,
        pad_mode="reflect",
    )
    return 10.0 * np.log10(np.maximum(S, sys.float_info.epsilon))


def librosa_loop(paths):
    import librosa

    return np.stack([_librosa_log_mel(*librosa.load(p, sr=None)) for p in paths])


def librosa_loop_in_memory(waves):
    return np.stack([_librosa_log_mel(y, PARAMS["sr"]) for y in waves])


def log_mel_in_memory(waves, n_jobs):
    from sklearn_asd.features import LogMelSpectrogram

    return LogMelSpectrogram(**PARAMS, n_jobs=n_jobs).fit_transform(waves)


def sklearn_asd_features(paths, n_jobs):
    from sklearn_asd.features import AudioLoader, LogMelSpectrogram

    waves = AudioLoader(sr=16000, n_jobs=n_jobs).fit_transform(paths)
    return LogMelSpectrogram(**PARAMS, n_jobs=n_jobs).fit_transform(waves)


def measure(fn, paths, repeats):
    fn(paths[:4])  # warm-up: imports, numba, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(paths)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn(paths)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, statistics.median(times), peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=None, help="default 200")
    parser.add_argument("--repeats", type=int, default=None, help="default 3")
    parser.add_argument(
        "--quick", action="store_true", help="16 clips, 1 repeat (smoke run)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.n_clips is None:
        args.n_clips = 16 if args.quick else 200
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.n_clips < 4 or args.repeats < 1:
        parser.error("--n-clips must be >= 4 and --repeats >= 1")

    import soundfile as sf

    from sklearn_asd.datasets import make_machine_sounds

    sounds = make_machine_sounds(
        n_normal=args.n_clips, n_anomalous=0, duration=10.0, random_state=0
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, y in enumerate(sounds.data):
            path = os.path.join(tmp, f"clip_{i:05d}.wav")
            sf.write(path, y, 16000, subtype="PCM_16")
            paths.append(path)
        reference, t_loop, m_loop = measure(librosa_loop, paths, args.repeats)
        rows.append(("librosa per-clip loop", t_loop, m_loop))
        for n_jobs in (1, 2):
            out, t, m = measure(
                lambda p, n=n_jobs: sklearn_asd_features(p, n), paths, args.repeats
            )
            diff = float(np.abs(out.reshape(reference.shape) - reference).max())
            rows.append((f"AudioLoader + LogMelSpectrogram, n_jobs={n_jobs}", t, m))
            if diff > 1e-4:
                raise AssertionError(f"features differ from librosa by {diff} dB")
        # the log-mel stage alone, on waveforms already in memory
        waves = sounds.data
        _, t_mem, m_mem = measure(librosa_loop_in_memory, waves, args.repeats)
        rows.append(("in memory: librosa per-clip melspectrogram loop", t_mem, m_mem))
        for n_jobs in (1, 2):
            _, t, m = measure(
                lambda w, n=n_jobs: log_mel_in_memory(w, n), waves, args.repeats
            )
            rows.append((f"in memory: LogMelSpectrogram, n_jobs={n_jobs}", t, m))

    results = {
        "benchmark": "features",
        "quick": args.quick,
        "command": "python benchmarks/bench_features.py "
        f"--n-clips {args.n_clips} --repeats {args.repeats}",
        "n_clips": args.n_clips,
        "repeats": args.repeats,
        "clip": "10 s, 16 kHz, 16-bit PCM wav (make_machine_sounds)",
        "params": PARAMS,
        "machine": machine_info(),
        "max_abs_diff_db_vs_librosa": diff,
        "rows": [
            {
                "variant": name,
                "seconds": round(t, 3),
                "clips_per_s": round(args.n_clips / t, 1),
                "speedup_vs_loop": round(
                    (t_mem if name.startswith("in memory") else t_loop) / t, 2
                ),
                "peak_traced_mb": round(m / 2**20, 1),
            }
            for name, t, m in rows
        ],
    }
    write_json(args.out, results)
    table = [
        "| variant | clips/s | speed-up vs loop | peak traced memory (MB) |",
        "|---|---:|---:|---:|",
    ]
    for r in results["rows"]:
        table.append(
            f"| {r['variant']} | {r['clips_per_s']} | {r['speedup_vs_loop']}x | "
            f"{r['peak_traced_mb']} |"
        )
    print("\n".join(table) if args.markdown else json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
