# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end scoring from wav files: our pipeline vs PyOD's ``AudioAE``.

In one run, on the same 10-s synthetic wav files (16 kHz, written to a temporary
folder), each detector is trained on normal clips and then scores held-out normal
and anomalous clips *from the files*: reading, resampling, log-mel, (median
filter), network and score. Reported per detector: scoring clips/s (after a
warm-up call), AUC and pAUC of those scores, and fit seconds.

Rows:

- ``sklearn-asd`` pipelines, ``AudioLoader -> LogMelSpectrogram -> MedianFilter
  -> ContrastiveASDEstimator`` scoring with the seed's CNN score, in the three
  inference modes (hop 8, hop 32, ``score_mode="shared"``), and the same
  detector scoring with its autoencoder branch (``score_branch="ae"``);
- the same fitted pipeline exported with ``sklearn_asd.export.export_onnx`` and
  run by ONNX Runtime (hop 8 and shared), files read and log-mel computed in
  Python as above;
- ``pyod.models.audio_ae.AudioAE`` (PyOD >= 3; an optional benchmark dependency:
  ``pip install pyod``) with its defaults except ``sr=16000`` and the number of
  epochs.

Training is short (``--epochs``) for both: the clips/s figures do not depend on
it, the AUCs do. Usage::

    python benchmarks/bench_end_to_end.py               # 60 train, 40+40 test
    python benchmarks/bench_end_to_end.py --quick       # 8 train, 4+4, 1 epoch
    python benchmarks/bench_end_to_end.py --device cuda
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sklearn_asd.utils._response import _anomaly_scores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "end_to_end.json"


def write_clips(folder, sounds, prefix):
    import soundfile as sf

    paths = []
    for i, clip in enumerate(sounds.data):
        path = Path(folder) / f"{prefix}_{i:04d}.wav"
        sf.write(path, clip, sounds.sr, subtype="PCM_16")
        paths.append(str(path))
    return np.array(paths)


def timed_scores(score, paths):
    score(paths[:2])  # warm-up: thread pools, lazy imports, allocator
    t0 = time.perf_counter()
    values = score(paths)
    return np.asarray(values, dtype=float), len(paths) / (time.perf_counter() - t0)


def onnx_rows(pipe, test, test_paths, tmp, record, fit_s):
    """The same fitted pipeline exported with export_onnx, run by ONNX Runtime.

    Files are read and turned into log-mel spectrograms by the pipeline's own
    AudioLoader and LogMelSpectrogram (chunks of 256 files, as score_files); the
    median filter, the MobileNetV2 and the seed score run in the ONNX graph, 8
    clips per call, with as many intra-op threads as torch uses.
    """
    try:
        import onnxruntime as ort

        from sklearn_asd.export import export_onnx
    except ImportError as exc:
        print(f"ONNX Runtime rows skipped: {exc}", flush=True)
        return
    import torch

    det = pipe[-1]
    classes = det.classes_.tolist()
    index = np.array([classes.index(s) for s in test.sections], dtype=np.int64)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    for name, params in [
        ("ONNX Runtime (export_onnx), CNN score, hop 8", {}),
        ("ONNX Runtime (export_onnx), CNN score, shared", {"score_mode": "shared"}),
    ]:
        det.set_params(score_hop=None, score_mode="patches", score_branch="auto")
        det.set_params(**params)
        path = Path(tmp) / "model.onnx"
        export_onnx(pipe, path)
        session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        front = pipe[:2]  # AudioLoader -> LogMelSpectrogram, in Python

        def score(paths, session=session, front=front):
            out = []
            for start in range(0, len(paths), 256):
                chunk = list(paths[start : start + 256])
                L = front.transform(chunk).astype(np.float32)
                idx = index[start : start + len(chunk)]
                for i in range(0, len(L), 8):
                    feed = {"log_mel": L[i : i + 8], "section": idx[i : i + 8]}
                    out.append(session.run(["anomaly_score"], feed)[0])
            return np.concatenate(out)

        scores, rate = timed_scores(score, test_paths)
        record(name, fit_s, scores, rate)
    det.set_params(score_hop=None, score_mode="patches", score_branch="auto")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=None, help="default 60")
    parser.add_argument(
        "--n-test", type=int, default=None, help="normal and anomalous, default 40"
    )
    parser.add_argument("--epochs", type=int, default=None, help="default 5")
    parser.add_argument(
        "--quick", action="store_true", help="8 train, 4+4 test, 1 epoch (smoke run)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--rows",
        choices=["all", "default"],
        default="all",
        help="default: only the plain-folder default pipeline and PyOD AudioAE",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default results/end_to_end.json; with --rows default "
        "results/end_to_end_default.json)",
    )
    args = parser.parse_args(argv)
    for name, full, quick in (("n_train", 60, 8), ("n_test", 40, 4), ("epochs", 5, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.out is None:
        args.out = RESULTS
        if args.rows == "default":
            args.out = RESULTS.with_name("end_to_end_default.json")
    if args.n_train < 2 or args.n_test < 2 or args.epochs < 1:
        parser.error("--n-train and --n-test must be >= 2 and --epochs >= 1")

    import sklearn
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline

    from sklearn_asd import ContrastiveASDEstimator
    from sklearn_asd.cli._train import _train_pipeline
    from sklearn_asd.datasets import make_machine_sounds
    from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter
    from sklearn_asd.metrics import partial_auc_score
    from sklearn_asd.scoring import score_files

    train = make_machine_sounds(n_normal=args.n_train, n_anomalous=0, random_state=0)
    test = make_machine_sounds(
        n_normal=args.n_test, n_anomalous=args.n_test, random_state=1
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        train_paths = write_clips(tmp, train, "train")
        test_paths = write_clips(tmp, test, "test")

        def record(name, fit_s, scores, clips_per_s):
            row = {
                "detector": name,
                "score_clips_per_s": round(clips_per_s, 1),
                "auc": round(float(roc_auc_score(test.target, scores)), 3),
                "pauc": round(float(partial_auc_score(test.target, scores)), 3),
                "fit_seconds": round(fit_s, 1),
            }
            rows.append(row)
            print(row, flush=True)

        # the command line's default for a plain folder of recordings of one
        # machine (sklearn-asd train FOLDER): clip statistics + k-NN
        default = _train_pipeline("knn").set_params(load__duration=10.0)
        t0 = time.perf_counter()
        default.fit(train_paths)
        fit_s = time.perf_counter() - t0
        scores, rate = timed_scores(lambda p: score_files(default, p), test_paths)
        record(
            "sklearn-asd train FOLDER default (kNN on clip statistics)",
            fit_s,
            scores,
            rate,
        )
        if args.rows == "default":
            pipe = None
        else:
            pipe = Pipeline(
                [
                    ("load", AudioLoader(sr=16000)),
                    ("mel", LogMelSpectrogram()),
                    ("mf", MedianFilter()),
                    (
                        "det",
                        ContrastiveASDEstimator(
                            max_epochs=args.epochs, device=args.device, random_state=0
                        ),
                    ),
                ]
            )
            t0 = time.perf_counter()
            with sklearn.config_context(enable_metadata_routing=True):
                pipe.fit(train_paths, sections=train.sections)
            fit_s = time.perf_counter() - t0
            det = pipe[-1]
            for name, params in [
                ("sklearn-asd, CNN score, hop 8 (default)", {}),
                ("sklearn-asd, CNN score, hop 32", {"score_hop": 32}),
                ("sklearn-asd, CNN score, shared", {"score_mode": "shared"}),
                ("sklearn-asd, AE-branch score, hop 8", {"score_branch": "ae"}),
            ]:
                det.set_params(
                    score_hop=None, score_mode="patches", score_branch="auto"
                )
                det.set_params(**params)
                sections = None if params.get("score_branch") == "ae" else test.sections

                def score(paths, sections=sections):
                    chosen = None if sections is None else sections[: len(paths)]
                    return score_files(pipe, paths, sections=chosen)

                scores, rate = timed_scores(score, test_paths)
                record(name, fit_s, scores, rate)

            onnx_rows(pipe, test, test_paths, tmp, record, fit_s)

        try:
            from pyod.models.audio_ae import AudioAE
        except ImportError as exc:
            print(f"PyOD AudioAE skipped: {exc}", flush=True)
        else:
            peer = AudioAE(sr=16000, epoch_num=args.epochs, device=args.device)
            t0 = time.perf_counter()
            peer.fit(list(train_paths))
            fit_s = time.perf_counter() - t0
            scores, rate = timed_scores(
                lambda paths: _anomaly_scores(peer, list(paths)), test_paths
            )
            record(f"PyOD AudioAE ({args.epochs} epochs)", fit_s, scores, rate)

    peer_rows = [r for r in rows if r["detector"].startswith("PyOD")]
    out = {
        "benchmark": "end_to_end",
        "quick": args.quick,
        "command": f"python benchmarks/bench_end_to_end.py --n-train {args.n_train} "
        f"--n-test {args.n_test} --epochs {args.epochs} --device {args.device}"
        + (" --rows default" if args.rows == "default" else ""),
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else None,
        "clip_seconds": 10.0,
        "rows": rows,
    }
    if peer_rows:
        out["speed_vs_pyod_audioae"] = {
            r["detector"]: round(
                r["score_clips_per_s"] / peer_rows[0]["score_clips_per_s"], 2
            )
            for r in rows
            if r not in peer_rows
        }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
