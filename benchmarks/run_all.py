# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Run every performance benchmark in one command and summarise the results.

Each benchmark runs in its own Python process (one after the other, so they do
not compete for the cores) and writes ``<out>/<name>.json``:

- ``features``: feature extraction clips/s, ``AudioLoader`` +
  ``LogMelSpectrogram`` vs a per-clip librosa loop (``bench_features.py``);
- ``training``: training patches/s of MobileNetV2 alone vs dual-branch +
  contrastive, and inference clips/s (``bench_training.py``);
- ``memory``: peak RSS of ``score_files`` on N and 10 x N clips
  (``bench_memory.py``);
- ``scaling``: fit time vs the number of training clips, with a fitted line
  (``bench_scaling.py``);
- ``end_to_end``: scoring clips/s from wav files vs PyOD's ``AudioAE``
  (``bench_end_to_end.py``; full mode only unless named with ``--only``; the
  PyOD row needs ``pip install pyod``).

Then it writes ``<out>/run_all.json`` (commands, exit codes, wall times, machine)
and ``<out>/summary.md``: one Markdown section per benchmark that ran in this
invocation, with the machine it ran on. A failing benchmark does not stop the
others; the exit code is then 1 and the summary lists the failure.

``--quick`` runs tiny sizes (well under two minutes on 2 cores) to check that
everything works; its numbers are not performance figures, and it writes to
``benchmarks/results/quick`` unless ``--out`` is given. The full run takes about
10-20 minutes on 2 cores.

Usage::

    python benchmarks/run_all.py [--quick] [--out benchmarks/results]
        [--only features training memory scaling end_to_end] [--device cpu]
"""

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# name -> (script, takes --device)
BENCHMARKS = {
    "features": ("bench_features.py", False),
    "training": ("bench_training.py", True),
    "memory": ("bench_memory.py", True),
    "scaling": ("bench_scaling.py", True),
    "end_to_end": ("bench_end_to_end.py", True),
}
QUICK_DEFAULT = ["features", "training", "memory", "scaling"]


def _rel(path):
    """``path`` relative to the working directory when below it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _fmt(value, digits=1):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


def _section_features(r):
    lines = [
        "## Feature extraction: AudioLoader + LogMelSpectrogram vs a librosa loop",
        "",
        f"{r['n_clips']} clips: {r['clip']}; 128-band log-mel (`n_fft=1024`, "
        f"`hop_length=512`); median of {r['repeats']} timed run(s) after a "
        "warm-up. "
        "Largest difference from librosa: "
        f"{r['max_abs_diff_db_vs_librosa']:.2g} dB.",
        "",
    ]
    lines += _table(
        ["variant", "clips/s", "speed-up vs loop", "peak traced memory (MB)"],
        [
            (
                x["variant"],
                x["clips_per_s"],
                f"{x['speedup_vs_loop']:.2f}x",
                x["peak_traced_mb"],
            )
            for x in r["rows"]
        ],
    )
    lines += [
        "",
        'The "in memory" rows time the log-mel stage alone on waveforms already '
        "in memory, against the librosa loop on the same waveforms.",
    ]
    return lines


def _section_training(r):
    rows = r["rows"]
    lines = [
        "## Training and inference: MobileNetV2 alone vs dual-branch + contrastive",
        "",
        f"`{r['command']}`: 10-s synthetic clips, 128 mels, 64-frame patches, "
        "width 0.5, batch 32; training patches/s excludes the first (warm-up) "
        f"epoch; device {r['device']}, torch threads {r['torch_threads']}.",
        "",
    ]
    lines += _table(
        [
            "model",
            "training patches/s",
            "scoring clips/s, hop 8",
            "hop 32",
            "shared",
            "peak RSS (MB)",
        ],
        [
            (
                x["model"],
                x["train_patches_per_s"],
                x["score_clips_per_s_hop8"],
                x["score_clips_per_s_hop32"],
                x["score_clips_per_s_shared"],
                x["peak_rss_mb_after_scoring"],
            )
            for x in rows
        ],
    )
    lines += [
        "",
        "Dual-branch + contrastive training costs "
        f"**{100 * r['dual_training_overhead']:.1f} %** more time per patch than "
        "MobileNetV2 alone in this run (goal: < 25 %).",
    ]
    return lines


def _section_memory(r):
    lines = [
        "## Peak memory of `score_files` (bounded memory)",
        "",
        f"`{r['command']}`: {r['pipeline']['steps']} (tiny detector, "
        f'`score_mode="shared"`), fitted on {r["pipeline"]["n_train"]} clips in '
        "each fresh process; then N paths scored with "
        f"`score_files(..., chunk_size={r['chunk_size']})`. Clips: "
        f"{r['clips']['duration_s']:g} s at {r['clips']['sr']} Hz; "
        f"{r['clips']['note']}. Baseline = resident memory after imports + fit; "
        "peak = high-water mark (VmHWM) while scoring; all in memory = N x "
        f"({r['waveform_bytes_per_clip']:,} B waveform + "
        f"{r['feature_bytes_per_clip']:,} B log-mel) per clip.",
        "",
    ]
    table_rows = [
        (
            f"{x['n_clips']:,}",
            f"{x['chunk_size']:,}",
            x["baseline_rss_mb"],
            x["peak_rss_mb"],
            x["growth_mb"],
            x["score_clips_per_s"],
            x["all_in_memory_mb"],
        )
        for x in r["rows"]
    ]
    contrast = r.get("contrast_one_chunk")
    if contrast:
        table_rows.append(
            (
                f"{contrast['n_clips']:,} (one chunk, contrast)",
                f"{contrast['chunk_size']:,}",
                contrast["baseline_rss_mb"],
                contrast["peak_rss_mb"],
                contrast["growth_mb"],
                contrast["score_clips_per_s"],
                contrast["all_in_memory_mb"],
            )
        )
    lines += _table(
        [
            "N clips",
            "chunk_size",
            "baseline RSS (MB)",
            "peak RSS (MB)",
            "growth (MB)",
            "clips/s",
            "all in memory (MB)",
        ],
        table_rows,
    )
    small, large = r["rows"][0], r["rows"][-1]
    lines += [
        "",
        f"Peak RSS at {large['n_clips']:,} clips / at {small['n_clips']:,} clips: "
        f"**{r['peak_ratio_largest_vs_smallest']:.2f}** for "
        f"{r['clips_ratio_largest_vs_smallest']:g}x the clips. Growth per 1,000 "
        f"extra clips: **{r['growth_mb_per_1000_extra_clips']:.1f} MB**, against "
        f"{r['all_in_memory_mb_per_1000_clips']:.1f} MB per 1,000 clips when all "
        "are held in memory.",
    ]
    if not r["smallest_n_fills_a_chunk"]:
        lines.append(
            f"(The smallest N is below chunk_size={r['chunk_size']}: its peak is "
            "not yet that of a full chunk.)"
        )
    if any(x["peak_includes_fit"] for x in r["rows"]):
        lines.append(
            "(The high-water mark could not be reset here: peaks include the fit.)"
        )
    return lines


def _section_scaling(r):
    line = r["line"]
    lines = [
        "## Fit time vs number of training clips",
        "",
        f"`{r['command']}`: {r['clip_seconds']:g}-s clips, "
        f"{r['log_mel']['n_mels']} mels ({r['n_frames_per_clip']} frames), tiny "
        f"dual-branch detector, {r['detector']['max_epochs']} epochs, batch "
        f"{r['detector']['batch_size']}; torch threads {r['torch_threads']}.",
        "",
    ]
    lines += _table(
        [
            "training clips",
            "fit (s)",
            "s per 1,000 clips",
            "patches/epoch",
            "training patches/s",
        ],
        [
            (
                f"{x['n_clips']:,}",
                x["fit_seconds"],
                x["seconds_per_1000_clips"],
                x["train_patches_per_epoch"],
                x["train_patches_per_s"],
            )
            for x in r["rows"]
        ],
    )
    lines += [
        "",
        "Least-squares line: fit seconds = "
        f"{line['intercept_seconds']:.2f} + "
        f"**{line['seconds_per_1000_clips']:.2f} s per 1,000 clips**, "
        f"R^2 = **{line['r2']:.3f}**; time per clip at the largest / smallest n: "
        f"{r['per_clip_time_ratio_largest_vs_smallest']:.2f}.",
    ]
    return lines


def _section_end_to_end(r):
    lines = [
        "## End-to-end scoring from wav files vs PyOD AudioAE",
        "",
        f"`{r['command']}`: 10-s clips; clips/s after a warm-up call; AUC/pAUC "
        "after a short training (they depend on the epochs).",
        "",
    ]
    lines += _table(
        ["detector", "scoring clips/s", "AUC", "pAUC", "fit (s)"],
        [
            (
                x["detector"],
                x["score_clips_per_s"],
                f"{x['auc']:.3f}",
                f"{x['pauc']:.3f}",
                x["fit_seconds"],
            )
            for x in r["rows"]
        ],
    )
    if not any(x["detector"].startswith("PyOD") for x in r["rows"]):
        lines += ["", "PyOD is not installed: its row was skipped."]
    return lines


SECTIONS = {
    "features": _section_features,
    "training": _section_training,
    "memory": _section_memory,
    "scaling": _section_scaling,
    "end_to_end": _section_end_to_end,
}


def summary_markdown(index, results):
    """The Markdown summary of one run_all invocation."""
    m = index["machine"]
    mode = "quick mode, smoke-test sizes" if index["quick"] else "full mode"
    lines = [
        f"# Performance benchmarks ({mode})",
        "",
        f"Command: `{index['command']}`, {m['date']}, "
        f"{index['total_seconds']:.0f} s in all. Raw results: the `*.json` files "
        "next to this summary.",
        "",
    ]
    if index["quick"]:
        lines += [
            "**Quick mode runs tiny sizes to check that every benchmark works. "
            "Its numbers are dominated by start-up costs and noise: do not quote "
            "them as performance figures.**",
            "",
        ]
    lines += [
        f"Machine: {m['cpu']}, {m['cores_available']} cores available, torch "
        f"threads {m['torch_threads']} (OMP_NUM_THREADS={m['OMP_NUM_THREADS']}), "
        f"GPU: {m['gpu'] or 'none'}; Python {m['python']}, numpy {m['numpy']}, "
        f"scikit-learn {m['scikit-learn']}, librosa {m['librosa']}, torch "
        f"{m['torch']}, skorch {m['skorch']}, sklearn_asd {m['sklearn_asd']}.",
        "",
        "Every figure is a throughput or a ratio measured side by side in the same "
        "run; expect differences of about +-20 % between runs on a shared machine.",
    ]
    for run in index["runs"]:
        lines.append("")
        if run["name"] in results:
            lines += SECTIONS[run["name"]](results[run["name"]])
            lines.append("")
            lines.append(f"({run['seconds']:.0f} s; `{run['json']}`)")
        else:
            lines.append(f"## {run['name']}: FAILED (exit code {run['returncode']})")
            lines.append("")
            lines.append(f"Command: `{' '.join(run['command'])}`")
    skipped = [n for n in BENCHMARKS if n not in [r["name"] for r in index["runs"]]]
    if skipped:
        lines += ["", f"Not run in this invocation: {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def _check_numbers(obj, where="results"):
    """Raise if any number in a results tree is NaN or infinite."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_numbers(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _check_numbers(value, f"{where}[{i}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Benchmarks: " + ", ".join(BENCHMARKS),
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results folder (default {RESULTS}, or {RESULTS / 'quick'} with --quick)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), default=None, metavar="NAME"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    names = args.only or (QUICK_DEFAULT if args.quick else list(BENCHMARKS))
    out.mkdir(parents=True, exist_ok=True)

    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    command += f" --out {_rel(out)}"
    if args.only:
        command += " --only " + " ".join(args.only)
    if args.device != "cpu":
        command += f" --device {args.device}"
    start = time.perf_counter()
    runs, results = [], {}
    for name in names:
        script, takes_device = BENCHMARKS[name]
        target = out / f"{name}.json"
        cmd = [sys.executable, str(HERE / script), "--out", str(target)]
        if args.quick:
            cmd.append("--quick")
        if takes_device:
            cmd += ["--device", args.device]
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        before = target.stat().st_mtime_ns if target.exists() else None
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, check=False).returncode
        seconds = time.perf_counter() - t0
        run = {
            "name": name,
            "command": ["python", _rel(cmd[1]), "--out", _rel(target), *cmd[4:]],
            "returncode": rc,
            "seconds": round(seconds, 1),
            "json": target.name,
        }
        fresh = target.exists() and target.stat().st_mtime_ns != before
        if rc == 0 and fresh:
            try:
                data = json.loads(target.read_text())
                _check_numbers(data, name)
            except ValueError as exc:
                run["returncode"] = rc = 1
                run["error"] = str(exc)
                print(f"== {name}: bad results: {exc}", flush=True)
            else:
                results[name] = data
        elif rc == 0:
            run["returncode"] = 1
            run["error"] = f"{target} was not written"
        runs.append(run)
        print(f"== {name}: exit {run['returncode']} in {seconds:.1f} s", flush=True)

    index = {
        "benchmark": "run_all",
        "quick": args.quick,
        "command": command,
        "machine": machine_info(),
        "total_seconds": round(time.perf_counter() - start, 1),
        "runs": runs,
    }
    write_json(out / "run_all.json", index)
    summary = out / "summary.md"
    tmp = summary.with_name(summary.name + ".tmp")
    tmp.write_text(summary_markdown(index, results))
    tmp.replace(summary)
    print(f"== wrote {summary} ({index['total_seconds']:.0f} s)", flush=True)
    return 0 if all(r["returncode"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
