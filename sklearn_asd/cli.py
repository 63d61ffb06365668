# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``sklearn-asd`` command line, a thin layer over the Python API.

Sub-commands:

``demo``
    Generate synthetic machine sounds, extract log-mel features, train the
    contrastive detector (a tiny CPU configuration) and an IsolationForest on
    per-band log-mel statistics, with and without the median filter, and print
    AUC/pAUC per section, per anomaly kind and the DCASE 2021 official score of
    held-out normal and anomalous clips.

``train DATA_ROOT --out MODEL``
    List a DCASE (2020-2025) or MIMII tree with
    :func:`~sklearn_asd.datasets.load_dcase`, build the pipeline of
    ``--detector`` (``contrastive``, the default on a tree: ``AudioLoader ->
    LogMelSpectrogram -> MedianFilter -> ContrastiveASDEstimator``, steps
    ``load``, ``mel``, ``mf``, ``det``; ``mobilenetv2``: the same with
    ``branches="cnn"``; ``ae``: ``load -> mel -> det`` with
    ``AutoencoderBaseline``; ``knn`` and ``iforest``: ``load -> mel -> stats ->
    scale -> det`` with ``BandStatistics`` of bands, MFCCs and spectral
    descriptors, ``StandardScaler`` and ``KNNDetector`` or ``IsolationForest``;
    tune it with ``--param det__max_epochs=5`` and any other ``get_params()``
    name), fit it on the normal clips of the training split with the sections
    of the file names as classes (routed by scikit-learn metadata routing) and
    save it with its versions and settings. One machine type gives one model
    whose classes are its sections; ``--machine-type all`` (or several
    ``--machine-type``) trains one model over several machine types, with
    machine type x section as classes. ``DATA_ROOT`` may also be a plain folder
    of recordings of one healthy machine (every clip normal; DCASE file names
    give their sections; default detector ``knn``). ``--auxiliary DIR`` (a
    plain folder, DCASE or MIMII tree of other machines) and
    ``--auxiliary-machine-types`` (other machine types of the DATA_ROOT tree)
    add the normal clips of other machines as auxiliary classes
    ``aux:<folder>/<machine>/<section>`` of the classifier: they train it but
    are never scored and never set the threshold.

``score MODEL DATA_ROOT --out DIR``
    Score the test split of a DCASE tree in chunks and write the DCASE
    submission files in the tree's naming: ``anomaly_score_<machine>_id_<XX>.csv``
    (2020), ``anomaly_score_<machine>_section_<XX>_<domain>_test.csv`` (2021),
    ``anomaly_score_<machine>_section_<XX>_test.csv`` (2022 and later), and the
    matching ``decision_result_*.csv`` files (``file name,score`` and
    ``file name,0|1`` rows, no header, as the official baselines write them).
    ``DATA_ROOT`` may also be one audio file or a folder of audio files: then
    one ``anomaly_scores.csv`` (``path,score,decision,rank``, with a header,
    most anomalous first) is written.

``evaluate DATA_ROOT --scores DIR``
    Match the ``anomaly_score_*.csv`` files of ``DIR`` with the labels in the
    file names of ``DATA_ROOT``'s test split, print AUC and pAUC per machine
    type, section and domain and the DCASE official score, and optionally write
    the table as CSV (``--out``).

``export MODEL --out FILE.onnx``
    Write the scoring graph of a saved model as an ONNX model
    (:func:`~sklearn_asd.export.export_onnx`; ``--include-frontend`` puts the
    log-mel front end in the graph so that it takes waveforms).

Every output file is written atomically (a temporary file in the same folder,
then :func:`os.replace`). Progress goes to stderr when it is a terminal, unless
``--quiet``.

Exit codes: 0 on success, 2 on a usage error (a one-line ``sklearn-asd <command>:
error: ...`` message, no traceback), 130 when interrupted (nothing is saved).
"""

import argparse
import ast
import collections
import contextlib
import csv
import difflib
import os
import sys
import warnings

from sklearn_asd.utils._audio import _AUDIO_SUFFIXES

__all__ = ["main"]

#: Years of the DCASE Task 2 naming schemes and official scores.
_YEARS = (2020, 2021, 2022, 2023, 2024, 2025)
#: File naming scheme (``load_dcase``'s ``naming``) of each year's result files.
_NAMING_OF_YEAR = {
    2020: "dcase2020",
    2021: "dcase2021",
    **dict.fromkeys((2022, 2023, 2024, 2025), "dcase2022"),
}
#: Official-score formula used by ``evaluate`` for each naming scheme by default.
_SCORE_YEAR_OF_NAMING = {
    "dcase2020": 2021,
    "dcase2021": 2021,
    "dcase2022": 2022,
    "mimii": 2021,
}
#: A --param value copied to other steps unless they are given explicitly.
_LINKED_PARAMS = {
    "mel__n_mels": ("mf__n_mels", "stats__n_mels", "det__n_mels"),
    "load__sr": ("mel__sr",),
}
#: ``train --detector`` choices; the classifiers take auxiliary classes.
_DETECTORS = ("contrastive", "mobilenetv2", "ae", "knn", "iforest")
_AUXILIARY_DETECTORS = ("contrastive", "mobilenetv2")
# train --auxiliary on a CPU: epochs and training-patch hop (see _run_train)
_AUXILIARY_CPU_DEFAULTS = {"det__max_epochs": 10, "det__patch_hop": 16}
#: Prefix of the auxiliary class names (``aux:<folder>/<machine>/<section>``).
_AUX_PREFIX = "aux:"
#: Folder names of DCASE/MIMII splits: a plain folder of that name is named
#: after its parent too (``fan/train``).
_SPLIT_FOLDERS = ("train", "test", "source_test", "target_test", "normal", "abnormal")
_PLAIN_RESULTS = "anomaly_scores.csv"


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _one_line(message):
    """Join a multi-line error message into one line."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    out = ""
    for line in lines:
        if not out:
            out = line
        elif out.endswith((":", ";", ",")):
            out += " " + line
        else:
            out += "; " + line
    return out


class _Progress:
    """Progress lines on stderr, only when it is a terminal and not --quiet."""

    def __init__(self, quiet, stream):
        isatty = getattr(stream, "isatty", None)
        self.enabled = not quiet and callable(isatty) and bool(isatty())
        self.stream = stream

    def __call__(self, text):
        if self.enabled:
            print(text, file=self.stream, flush=True)


def _add_machine_type(parser, help_text):
    parser.add_argument(
        "--machine-type",
        action="append",
        dest="machine_types",
        metavar="NAME",
        help=help_text,
    )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-asd",
        description="Anomalous machine sound detection with a scikit-learn API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="train and score detectors on synthetic machine sounds (or --data)",
        description=(
            "Generate synthetic machine sounds (sklearn_asd.datasets."
            "make_machine_sounds), or read the clips of a DCASE/MIMII tree "
            "(--data), train on normal clips only, score held-out normal and "
            "anomalous clips and print AUC/pAUC tables; --plots writes figures."
        ),
    )
    demo.add_argument(
        "--n-train", type=_positive_int, default=60, help="normal training clips"
    )
    demo.add_argument(
        "--n-test",
        type=_positive_int,
        default=60,
        help="normal and anomalous test clips (each)",
    )
    demo.add_argument("--n-sections", type=_positive_int, default=3)
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds (synthetic clips: default 4; with --data: clips are padded "
        "or cropped to it, default the first training clip's length)",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=5,
        help="training epochs of the contrastive detector",
    )
    demo.add_argument(
        "--severity", type=float, default=0.5, help="anomaly strength in [0, 1]"
    )
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument(
        "--data",
        metavar="ROOT",
        help=(
            "a DCASE/MIMII tree: train on its normal training clips (machine type "
            "x section as classes) and score its labelled test clips instead of "
            "synthetic sounds; a tree without train/test splits (MIMII) trains on "
            "the first 60%% of each machine type's normal clips by file name"
        ),
    )
    demo.add_argument(
        "--plots",
        metavar="DIR",
        help="write roc.png, scores.png and median_filter.png to DIR (matplotlib)",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the results")

    train = sub.add_parser(
        "train",
        help="train a detector on a DCASE/MIMII tree or a folder of recordings",
        description=(
            "Fit a pipeline on the normal clips of one split of DATA_ROOT (sections "
            "from the file names are the classes) and save it to MODEL. --detector "
            "chooses it: contrastive (default for DCASE/MIMII trees and with "
            "--auxiliary): load (AudioLoader) -> mel (LogMelSpectrogram) -> mf "
            "(MedianFilter) -> det (ContrastiveASDEstimator); mobilenetv2: the same "
            "with det__branches='cnn'; ae: load -> mel -> det "
            "(AutoencoderBaseline); knn (default for a plain folder of recordings) "
            "and iforest: load -> mel -> stats (BandStatistics of bands, MFCCs and "
            "spectral descriptors) -> scale (StandardScaler) -> det (KNNDetector or "
            "IsolationForest). Unless given, load__duration is set to the length "
            "of the first training clip (other clips, auxiliary ones included, are "
            "padded or cropped to it; clips at other sample rates are resampled to "
            "load__sr), and mel__n_mels / load__sr are copied to mf__n_mels, "
            "stats__n_mels, det__n_mels / mel__sr (and stats__n_mfcc is lowered to "
            "mel__n_mels when that is smaller)."
        ),
    )
    train.add_argument("data_root", metavar="DATA_ROOT", help="dataset root folder")
    train.add_argument(
        "--out", required=True, metavar="MODEL", help="model file to write (.joblib)"
    )
    _add_machine_type(
        train,
        "machine type to train on (repeat for several, or 'all'); required when "
        "DATA_ROOT holds several machine types. Several machine types give one "
        "model whose classes are machine type x section",
    )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "set a pipeline parameter by its get_params() name, e.g. "
            "det__max_epochs=5 or mel__n_mels=64 (VALUE is a Python literal, "
            "else a string); repeatable"
        ),
    )
    train.add_argument(
        "--split",
        default="train",
        help="split whose normal clips are used (default: train)",
    )
    train.add_argument(
        "--year",
        type=int,
        choices=_YEARS,
        help="require DATA_ROOT to follow this year's DCASE naming",
    )
    train.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the detector (det__random_state, where the detector has "
        "one; default 0: the same command trains the same model on the same "
        "machine)",
    )
    train.add_argument(
        "--detector",
        choices=_DETECTORS,
        help=(
            "detector of the pipeline (default: knn for a plain folder of "
            "recordings, contrastive for a DCASE/MIMII tree or with --auxiliary)"
        ),
    )
    train.add_argument(
        "--auxiliary",
        action="append",
        default=[],
        metavar="DIR",
        help=(
            "normal clips of OTHER machines (a plain folder, a DCASE tree of any "
            "year or a MIMII tree; every split) as extra classes of the classifier, "
            "never scored and never in the threshold: one class "
            "aux:<folder>/<machine>/<section> per machine type and section; "
            "repeatable; needs --detector contrastive or mobilenetv2. On a CPU "
            "such runs default to det__max_epochs=10 and det__patch_hop=16 "
            "(about 4x faster than the estimator's 20 epochs x hop 8; --param "
            "overrides them)"
        ),
    )
    train.add_argument(
        "--auxiliary-machine-types",
        action="append",
        dest="auxiliary_machine_types",
        default=[],
        metavar="NAME",
        help=(
            "use these machine types of the DATA_ROOT tree (never the trained "
            "ones; 'all': all the others) as auxiliary classes, like --auxiliary; "
            "repeatable"
        ),
    )
    train.add_argument("--quiet", action="store_true", help="no progress output")

    score = sub.add_parser(
        "score",
        help="write DCASE anomaly-score and decision files with a saved model",
        description=(
            "Score the clips of one split of DATA_ROOT with MODEL in chunks and write "
            "the DCASE anomaly_score_*.csv and decision_result_*.csv files to DIR "
            "in the tree's (or --year's) naming. DATA_ROOT may also be one audio "
            f"file or a folder of audio files: then DIR/{_PLAIN_RESULTS} "
            "(path,score,decision,rank; most anomalous first) is written."
        ),
    )
    score.add_argument("model", metavar="MODEL", help="model file from 'train'")
    score.add_argument(
        "data_root", metavar="DATA_ROOT", help="dataset root, audio folder or file"
    )
    score.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (created)"
    )
    score.add_argument("--split", default="test", help="split to score (test)")
    score.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=256,
        metavar="N",
        help="clips read and scored at once (bounds memory; default 256)",
    )
    _add_machine_type(
        score,
        "machine type of DATA_ROOT to score (repeatable; default: the model's "
        "machine types)",
    )
    score.add_argument(
        "--year",
        type=int,
        choices=_YEARS,
        help="name the result files after this year (default: the files' naming)",
    )
    score.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help=(
            "score each chunk in N worker processes (-1: one per core; each gets "
            "cores // N threads; default: in this process)"
        ),
    )
    score.add_argument(
        "--section",
        metavar="NAME",
        help=(
            "for a file or a plain folder: score every clip against this class of "
            "the model (default: the sections in the file names, else each clip's "
            "best-matching class)"
        ),
    )
    score.add_argument("--quiet", action="store_true", help="no progress output")

    evaluate = sub.add_parser(
        "evaluate",
        help="AUC, pAUC and the DCASE official score of anomaly-score files",
        description=(
            "Read the anomaly_score_*.csv files of DIR, take the labels from the "
            "file names of DATA_ROOT's test split and print AUC and pAUC per "
            "machine type, section and domain and the DCASE official score."
        ),
    )
    evaluate.add_argument(
        "data_root", metavar="DATA_ROOT", help="labelled dataset root"
    )
    evaluate.add_argument(
        "--scores", required=True, metavar="DIR", help="folder of score files"
    )
    evaluate.add_argument(
        "--year",
        type=int,
        choices=_YEARS,
        help=(
            "naming of the score files and official-score formula (default: from "
            "the file names; DCASE 2020 trees use the 2021 formula)"
        ),
    )
    evaluate.add_argument("--split", default="test", help="split to evaluate (test)")
    _add_machine_type(
        evaluate, "machine type to evaluate (repeatable; default: all of the split)"
    )
    evaluate.add_argument(
        "--out", metavar="REPORT", help="write the table as CSV to this file"
    )
    evaluate.add_argument(
        "--plots",
        metavar="DIR",
        help=(
            "write roc.png (ROC per section, or per machine type, with the pAUC "
            "region) and scores.png (score histograms per section and domain) to "
            "DIR (matplotlib)"
        ),
    )
    export = sub.add_parser(
        "export",
        help="write a saved model's scoring graph as an ONNX model",
        description=(
            "Export the scoring graph of MODEL (median filters, detector and the "
            "seed score; with --include-frontend also the log-mel front end, so "
            "that the ONNX model takes waveforms) to an ONNX file, as "
            "sklearn_asd.export.export_onnx does. Needs the onnx extra: "
            'pip install "sklearn-asd[onnx]".'
        ),
    )
    export.add_argument("model", metavar="MODEL", help="model file from 'train'")
    export.add_argument(
        "--out", required=True, metavar="FILE", help="ONNX file to write"
    )
    export.add_argument(
        "--include-frontend",
        action="store_true",
        help="put the log-mel front end in the graph (input: waveforms)",
    )
    export.add_argument(
        "--opset", type=_positive_int, metavar="N", help="ONNX opset (>= 18)"
    )
    return parser


def _run_export(args, out, err):
    from sklearn_asd.export import export_onnx
    from sklearn_asd.persistence import load_model

    _check_output_file(args.out, "--out")
    pipeline = load_model(args.model)
    model = export_onnx(
        pipeline, args.out, include_frontend=args.include_frontend, opset=args.opset
    )
    meta = {p.key: p.value for p in model.metadata_props}
    print(
        f"wrote {args.out}: input {meta['input']!r}, sections {meta['sections']}, "
        f"threshold {float(meta['threshold']):.6g} (scores above it are anomalous)",
        file=out,
    )
    return 0


def _demo_detectors(random_state, n_epochs):
    """Return the detectors the demo compares, in a tiny CPU configuration."""
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline

    from sklearn_asd.estimator import ContrastiveASDEstimator
    from sklearn_asd.features import BandStatistics

    return {
        "contrastive": ContrastiveASDEstimator(
            patch_frames=32,
            patch_hop=16,
            last_channel=256,
            max_epochs=n_epochs,
            random_state=random_state,
        ),
        "iforest": make_pipeline(
            BandStatistics(), IsolationForest(random_state=random_state)
        ),
    }


def _one_class_group(exc):
    """Whether ``exc`` is the metrics' error for a group with one class."""
    from sklearn_asd.metrics import _OneClassGroupError

    return isinstance(exc, _OneClassGroupError)


def _defined_groups_table(y, scores, keys, header):
    """Table of AUC/pAUC per group, ``n/a`` where a group has one class."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.metrics import partial_auc_score

    keys = [tuple(str(v) for v in k) for k in keys]
    widths = [max(len(h), *(len(k[j]) for k in keys)) + 2 for j, h in enumerate(header)]
    lines = [
        "".join(f"{h:<{w}}" for h, w in zip(header, widths))
        + f"{'n_normal':>10}{'n_anomalous':>13}{'AUC':>8}{'pAUC':>8}"
    ]
    rows = []
    for key in sorted(set(keys)):
        mask = np.array([k == key for k in keys])
        n_anomalous = int(y[mask].sum())
        n_normal = int(mask.sum()) - n_anomalous
        if n_normal and n_anomalous:
            auc = roc_auc_score(y[mask], scores[mask])
            pauc = partial_auc_score(y[mask], scores[mask])
            values = f"{auc:>8.4f}{pauc:>8.4f}"
        else:
            auc = pauc = None
            values = f"{'n/a':>8}{'n/a':>8}"
        rows.append((*key, n_normal, n_anomalous, auc, pauc))
        lines.append(
            "".join(f"{k:<{w}}" for k, w in zip(key, widths))
            + f"{n_normal:>10}{n_anomalous:>13}"
            + values
        )
    return "\n".join(lines) + "\n", rows


def _demo_synthetic(args, say):
    """Synthetic train/test waveforms, classes and result columns for the demo."""
    from sklearn_asd.datasets import make_machine_sounds

    if not 0.0 <= args.severity <= 1.0:
        raise ValueError(f"--severity must be in [0, 1], got {args.severity}")
    if args.duration is None:
        args.duration = 4.0
    if args.duration < 1.0:
        raise ValueError(f"--duration must be at least 1 s, got {args.duration}")
    common = {
        "n_sections": args.n_sections,
        "duration": args.duration,
        "severity": args.severity,
    }
    say(
        f"Generating {args.n_train} normal training clips and {args.n_test} normal "
        f"+ {args.n_test} anomalous test clips ({args.n_sections} section(s), "
        f"{args.duration:g} s at 16 kHz, severity {args.severity:g})..."
    )
    train = make_machine_sounds(
        n_normal=args.n_train, n_anomalous=0, random_state=args.random_state, **common
    )
    test = make_machine_sounds(
        n_normal=args.n_test,
        n_anomalous=args.n_test,
        random_state=args.random_state + 1,
        **common,
    )
    kinds = sorted(set(test.anomaly_kinds) - {"normal"})
    # per anomaly kind: that kind's anomalous clips against all normal clips
    columns = {k: (test.anomaly_kinds == k) | (test.target == 0) for k in kinds}
    return {
        "train": train.data,
        "test": test.data,
        "train_classes": train.sections,
        "test_classes": test.sections,
        "y": test.target,
        "columns": columns,
        "what": "AUC per anomaly kind",
    }


def _demo_real(args, say):
    """Waveforms of a DCASE/MIMII tree's labelled clips, split for the demo."""
    import numpy as np

    from sklearn_asd.features import AudioLoader

    data = _load_tree(args.data)
    files = np.asarray(data.filenames, dtype=object)
    y = np.asarray(data.target)
    splits = np.asarray(data.splits)
    machines = np.asarray(data.machine_types)
    classes = np.array(
        [f"{m}/{s}" for m, s in zip(machines, data.sections)], dtype=object
    )
    if (splits == "train").any():
        train = (splits == "train") & (y == 0)
        test = (splits != "train") & (y >= 0)
        rule = "the train split's normal clips train; the other labelled clips test"
    else:  # MIMII-style tree without splits: hold out part of the normals
        train = np.zeros(len(files), dtype=bool)
        for machine in np.unique(machines):
            idx = np.flatnonzero((machines == machine) & (y == 0))
            idx = idx[np.argsort(files[idx])]
            train[idx[: round(0.6 * len(idx))]] = True
        test = ~train & (y >= 0)
        rule = (
            "no train/test split: the first 60 % of each machine type's normal "
            "clips by file name train; the other normals and the anomalies test"
        )
    trained = set(machines[train].tolist())
    skipped = sorted(set(machines[test].tolist()) - trained)
    test &= np.isin(machines, sorted(trained))
    test &= np.isin(classes, np.unique(classes[train]))  # sections seen in training
    if not train.any() or len(np.unique(y[test])) < 2:
        raise ValueError(
            f"--data {args.data!r} needs normal training clips and labelled normal "
            "and anomalous test clips of the same machine type(s)"
        )
    say(f"Reading {train.sum()} training and {test.sum()} test clips ({rule}) ...")
    if skipped:
        say(f"Skipping machine type(s) without normal training clips: {skipped}")
    # clips of other lengths (other machine types) are padded or cropped to
    # --duration, or to the first training clip's length
    duration = args.duration
    if duration is None:
        duration = _clip_seconds(files[train][0], AudioLoader())
    loader = AudioLoader(duration=duration).fit(files[train].tolist())
    machine_test = machines[test]
    columns = {m: machine_test == m for m in sorted(trained)}
    return {
        "train": loader.transform(files[train].tolist()),
        "test": loader.transform(files[test].tolist()),
        "train_classes": classes[train],
        "test_classes": classes[test],
        "y": y[test],
        "columns": columns,
        "what": "AUC per machine type",
    }


def _pyplot():
    """matplotlib.pyplot on the Agg backend, or a usage error without it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            '--plots needs matplotlib: pip install "sklearn-asd[plot]"'
        ) from None
    return plt


def _clip_seconds(path, loader):
    """Length in seconds of one file as ``loader`` reads it (resampled, mixed)."""
    from sklearn_asd.utils._audio import _read_audio

    return _read_audio(path, sr=loader.sr, mono=loader.mono).shape[0] / loader.sr


def _check_plots_folder(folder):
    """Fail before any work when --plots cannot be written (None: no plots)."""
    if folder is None:
        return
    if os.path.isfile(folder):
        raise ValueError(f"--plots {folder!r} is a file, not a folder")
    _pyplot()  # matplotlib missing: a usage error now, not after training


def _save_figures(folder, figures, say):
    """Write ``{file name: figure}`` as PNG files into ``folder``, atomically."""
    from sklearn_asd.persistence import atomic_open

    plt = _pyplot()
    os.makedirs(folder, exist_ok=True)
    for file_name, figure in figures.items():
        path = os.path.join(folder, file_name)
        with atomic_open(path, "wb") as f:
            figure.savefig(f, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        say(f"Wrote {path}")


def _cell(value, width):
    """Format a right-aligned table cell: 3 decimals, or n/a for NaN."""
    return f"{'n/a':>{width}}" if value != value else f"{value:>{width}.3f}"


def _official_or_nan(y, score, sections):
    """DCASE 2021 official score, NaN when a section has one class."""
    from sklearn_asd.metrics import official_score

    try:
        return official_score(y, score, sections=sections)
    except ValueError as exc:
        if not _one_class_group(exc):
            raise
        return float("nan")


def _demo_plots(folder, results, data, mel, mf, say):
    """Write the demo's ROC, score-histogram and median-filter figures."""
    import numpy as np

    plt = _pyplot()
    from sklearn_asd.plotting import (
        ASDCurveDisplay,
        ScoreHistogramDisplay,
        SpectrogramDisplay,
    )

    y = data["y"]
    fig, ax = plt.subplots(figsize=(7, 7))
    for name, score in results.items():
        ASDCurveDisplay.from_predictions(y, score, name=name, ax=ax)
    ax.set_title("ROC with the pAUC region (FPR <= 0.1)")
    ax.legend(fontsize=7, loc="lower right", framealpha=0.8)
    figures = {"roc.png": fig}
    name = next(iter(results))
    hist = ScoreHistogramDisplay.from_predictions(
        y,
        results[name],
        sections=data["test_classes"],
        threshold=data["threshold"],
        name=name,
    )
    figures["scores.png"] = hist.figure_
    anomalous = int(np.flatnonzero(y == 1)[0])
    spec = SpectrogramDisplay.from_transformers(
        mel, mf, data["test"][anomalous], titles=("original", "median-filtered")
    )
    figures["median_filter.png"] = spec.figure_
    _save_figures(folder, figures, say)


def _evaluate_plots(folder, y, scores, groups, sections, domains, say):
    """ROC curves per group and score histograms per section and domain."""
    import numpy as np

    plt = _pyplot()
    from sklearn_asd.plotting import ASDCurveDisplay, ScoreHistogramDisplay

    fig, ax = plt.subplots(figsize=(7, 7))
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        if len(np.unique(y[mask])) == 2:
            ASDCurveDisplay.from_predictions(y[mask], scores[mask], name=group, ax=ax)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.8)
    ax.set_title("ROC with the pAUC region (FPR <= 0.1)")
    hist = ScoreHistogramDisplay.from_predictions(
        y, scores, sections=sections, domains=domains, name="anomaly scores"
    )
    _save_figures(folder, {"roc.png": fig, "scores.png": hist.figure_}, say)


def _run_demo(args, out):
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.features import LogMelSpectrogram, MedianFilter
    from sklearn_asd.metrics import partial_auc_score, section_report

    def say(text):
        if not args.quiet:
            print(text, file=out, flush=True)

    _check_plots_folder(args.plots)
    data = (_demo_real if args.data is not None else _demo_synthetic)(args, say)
    say("Extracting log-mel spectrograms (128 bands) ...")
    mel = LogMelSpectrogram().fit(data["train"])
    features = {False: (mel.transform(data["train"]), mel.transform(data["test"]))}
    mf = MedianFilter().fit(features[False][0])
    features[True] = tuple(mf.transform(X) for X in features[False])

    results = {}
    train_classes, test_classes = data["train_classes"], data["test_classes"]
    for median_filter, (X_train, X_test) in features.items():
        suffix = " +MF" if median_filter else ""
        dets = _demo_detectors(args.random_state, args.epochs)
        say(f"Training the contrastive detector{suffix} ({args.epochs} epochs) ...")
        det = dets["contrastive"].fit(X_train, sections=train_classes)
        branch = "seed CNN" if det.score_branch_ == "cnn" else "AE-branch (fallback)"
        results[f"contrastive, {branch} score{suffix}"] = det.anomaly_score(
            X_test, sections=test_classes
        )
        # predict's threshold in the DCASE sign, for the first (unfiltered) row
        data.setdefault("threshold", -det.offset_)
        if det.score_branch_ == "cnn":
            det.set_params(score_branch="ae")
            results["contrastive, AE-branch score" + suffix] = det.anomaly_score(X_test)
        # DCASE sign: higher = more anomalous
        results["IsolationForest" + suffix] = -(
            dets["iforest"].fit(X_train).decision_function(X_test)
        )

    y = data["y"]
    best = next(iter(results))
    print(
        f"\nAUC / pAUC (McClish-standardized, max_fpr=0.1) per section, {best}:",
        file=out,
    )
    try:
        print(section_report(y, results[best], sections=test_classes), file=out)
    except ValueError as exc:
        if not _one_class_group(exc):
            raise
        table, _ = _defined_groups_table(
            y, results[best], list(zip(test_classes)), ["section"]
        )
        print(table, file=out)
        print(
            f"(n/a: {_one_line(exc)} The official score is undefined then.)\n",
            file=out,
        )
    width = max(len(name) for name in results) + 2
    columns = data["columns"]
    header = f"{'detector':<{width}}{'AUC':>7}{'pAUC':>7}{'official':>10}" + "".join(
        f"{k:>12}" for k in columns
    )
    print(
        f"Summary (official = DCASE 2021 score; last columns: {data['what']}):",
        file=out,
    )
    print(header, file=out)
    for name, score in results.items():
        per_column = []
        for mask in columns.values():
            labels = y[mask]
            ok = len(set(labels.tolist())) == 2
            per_column.append(
                roc_auc_score(labels, score[mask]) if ok else float("nan")
            )
        row = (
            f"{name:<{width}}{roc_auc_score(y, score):>7.3f}"
            f"{partial_auc_score(y, score):>7.3f}"
            + _cell(_official_or_nan(y, score, test_classes), 10)
            + "".join(_cell(v, 12) for v in per_column)
        )
        print(row, file=out)
    if args.plots is not None:
        _demo_plots(args.plots, results, data, mel, mf, say)
    return 0


# ----------------------------------------------------------------------- train
def _train_pipeline(detector):
    """Build the (unfitted) pipeline that ``train --detector NAME`` fits.

    ``contrastive`` and ``mobilenetv2``: load -> mel -> mf -> det; ``ae``: load ->
    mel -> det; ``knn`` and ``iforest``: load -> mel -> stats -> scale -> det.
    """
    from sklearn.pipeline import Pipeline

    from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter

    steps = [("load", AudioLoader()), ("mel", LogMelSpectrogram())]
    if detector in ("contrastive", "mobilenetv2"):
        from sklearn_asd.estimator import ContrastiveASDEstimator

        branches = "cnn" if detector == "mobilenetv2" else "dual"
        steps += [
            ("mf", MedianFilter()),
            ("det", ContrastiveASDEstimator(branches=branches)),
        ]
    elif detector == "ae":
        from sklearn_asd.estimator import AutoencoderBaseline

        steps += [("det", AutoencoderBaseline())]
    else:
        from sklearn.preprocessing import StandardScaler

        from sklearn_asd.features import BandStatistics

        if detector == "knn":
            from sklearn_asd._knn import KNNDetector

            det = KNNDetector()
        else:
            from sklearn.ensemble import IsolationForest

            det = IsolationForest()
        steps += [
            ("stats", BandStatistics(features=("bands", "mfcc", "spectral"))),
            ("scale", StandardScaler()),
            ("det", det),
        ]
    return Pipeline(steps)


def _on_cpu(device):
    """Whether a torch device string names the CPU (``"cpu"``, ``"cpu:0"``)."""
    import torch

    return torch.device(device).type == "cpu"


def _uses_sections(detector):
    """Whether ``detector`` scores a clip against its section (or the best one)."""
    return hasattr(detector, "anomaly_score") and getattr(
        detector, "_uses_sections", True
    )


def _parse_value(text):
    """Parse a --param value: a Python literal, true/false/none, else the string."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false", "none"):
        return {"true": True, "false": False, "none": None}[lowered]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _parse_params(specs, valid, steps=("load", "mel", "mf", "det")):
    """Parse ``NAME=VALUE`` strings against the names in ``valid``."""
    given = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {spec!r}")
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), n=3, cutoff=0.6)
            listed = ", ".join(steps[:-1]) + f" and {steps[-1]}"
            hint = (
                "; did you mean " + " or ".join(close) + "?"
                if close
                else f"; names are <step>__<parameter> with the steps {listed}, "
                "e.g. mel__n_mels or det__<parameter>"
            )
            raise ValueError(f"unknown parameter {name!r} in --param {spec!r}{hint}")
        if name in given:
            raise ValueError(f"--param {name} is given twice")
        given[name] = _parse_value(text)
    return given


def _configure_pipeline(pipeline, specs):
    """Apply and validate the --param settings; return the explicit names."""
    valid = pipeline.get_params(deep=True)
    steps = [name for name, _ in pipeline.steps]
    given = _parse_params(specs, valid, steps)
    explicit = set(given)
    for source, targets in _LINKED_PARAMS.items():
        if source in given:
            for target in targets:
                if target in valid and target not in given:
                    given[target] = given[source]
    # fewer mel bands than MFCCs (20): as many MFCCs as bands, unless given
    n_bands = given.get("stats__n_mels")
    if "stats__n_mfcc" in valid and "stats__n_mfcc" not in given:
        if isinstance(n_bands, int) and 0 < n_bands < valid["stats__n_mfcc"]:
            given["stats__n_mfcc"] = n_bands
    pipeline.set_params(**given)
    for _, step in pipeline.steps:
        validate = getattr(step, "_validate_params", None)
        if callable(validate):
            validate()  # InvalidParameterError (a ValueError) names the problem
    n_mels = {
        name: pipeline.named_steps[name].n_mels
        for name in steps
        if name != "load" and hasattr(pipeline.named_steps[name], "n_mels")
    }
    if len(set(n_mels.values())) > 1:
        values = ", ".join(f"{k}__n_mels={v}" for k, v in n_mels.items())
        others = [f"{k}__n_mels" for k in n_mels if k != "mel"]
        raise ValueError(
            f"the steps disagree on the number of mel bands ({values}): set "
            f"mel__n_mels alone (it is copied to {' and '.join(others)}) or all "
            f"{len(n_mels)} to one value"
        )
    return explicit


def _load_tree(root, flag="DATA_ROOT"):
    from sklearn_asd.datasets import load_dcase

    if not os.path.exists(root):
        raise FileNotFoundError(f"{flag} {root!r} does not exist")
    if not os.path.isdir(root):
        raise ValueError(f"{flag} {root!r} is not a folder")
    return load_dcase(root)


def _choose_machine_types(data, requested, root, command):
    """Machine types to use: the requested ones, or the only one of the tree."""
    available = sorted(set(data.machine_types.tolist()))
    if not requested:
        if len(available) == 1:
            return available
        raise ValueError(
            f"{root!r} holds {len(available)} machine types {available}: choose with "
            "--machine-type NAME (repeatable)"
            + (
                ", or --machine-type all for one model over all"
                if command == "train"
                else ""
            )
        )
    if "all" in requested and "all" not in available:
        return available
    unknown = sorted(set(requested) - set(available))
    if unknown:
        raise ValueError(
            f"unknown machine type(s) {unknown} in {root!r}; available: {available}"
        )
    return sorted(set(requested))


def _class_labels(machine_types, sections, scheme):
    """Class of each clip: its section, or ``<machine>/<section>``."""
    if scheme == "machine_section":
        return [f"{m}/{s}" for m, s in zip(machine_types, sections)]
    return [str(s) for s in sections]


def _check_output_file(path, flag):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path!r} is a folder, not a file name")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of {flag} {path!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot write {flag} {path!r}: folder not writable")


def _run_train(args, out, err):
    import numpy as np
    import sklearn

    from sklearn_asd.persistence import save_model

    progress = _Progress(args.quiet, err)
    _check_output_file(args.out, "--out")
    plain = os.path.isdir(args.data_root) and bool(_audio_files_in(args.data_root))
    auxiliary = bool(args.auxiliary or args.auxiliary_machine_types)
    detector = args.detector
    if detector is None:
        detector = "knn" if plain and not auxiliary else "contrastive"
    if auxiliary and detector not in _AUXILIARY_DETECTORS:
        raise ValueError(
            "--auxiliary and --auxiliary-machine-types add classes to a section "
            f"classifier: use --detector contrastive or mobilenetv2, not {detector}"
        )
    pipeline = _train_pipeline(detector)
    explicit = _configure_pipeline(pipeline, args.param)
    valid = pipeline.get_params(deep=True)
    if "det__random_state" in valid and "det__random_state" not in explicit:
        pipeline.set_params(det__random_state=args.random_state)
    if auxiliary and "det__auxiliary_classes" in explicit:
        raise ValueError(
            "--param det__auxiliary_classes is set by --auxiliary and "
            "--auxiliary-machine-types: give one or the other"
        )
    det = pipeline.named_steps["det"]
    sectioned = _uses_sections(det)

    if plain:
        paths, classes, machines, scheme, namings, data = _plain_training_set(args)
    else:
        paths, classes, machines, scheme, namings, data = _tree_training_set(args)
    aux_paths, aux_classes, aux_records = [], [], []
    if auxiliary:
        aux_paths, aux_classes, aux_records = _auxiliary_set(
            args, data, machines, paths, classes
        )
    aux_names = sorted(set(aux_classes))
    if not sectioned:  # the detector ignores sections: one model for all clips
        scheme = None
    n_classes = len(set(classes)) if sectioned else 1
    if detector == "mobilenetv2" and n_classes + len(aux_names) < 2:
        raise ValueError(
            f"--detector mobilenetv2 learns by classifying sections and needs two "
            f"or more classes, but {args.data_root!r} gives one "
            f"({sorted(set(classes))[0]!r}): add other machines' normal clips as "
            "classes with --auxiliary DIR, or use --detector contrastive or knn"
        )
    if aux_names:
        pipeline.set_params(det__auxiliary_classes=aux_names)
        if "det__score_branch" not in explicit and detector == "contrastive":
            pipeline.set_params(det__score_branch="cnn")
        if _on_cpu(det.device):
            # CPU training budget of auxiliary runs, chosen on the shared real
            # clips (benchmarks/real_clips.py): 10 epochs over patches every 16
            # frames train ~4x faster than the estimator's 20 epochs x hop 8
            for name, value in _AUXILIARY_CPU_DEFAULTS.items():
                if name not in explicit:
                    pipeline.set_params(**{name: value})

    if "load__duration" not in explicit:
        duration = _clip_seconds(paths[0], pipeline.named_steps["load"])
        pipeline.set_params(load__duration=duration)
    neural = hasattr(det, "max_epochs")
    show_epochs = progress.enabled and neural and "det__verbose" not in explicit
    if show_epochs:
        det.set_params(verbose=1)
    then = f"{det.max_epochs} epoch(s)" if neural else f"fitting {type(det).__name__}"
    with_aux = (
        f" with {len(aux_paths)} auxiliary clips ({len(aux_names)} auxiliary class(es))"
        if aux_paths
        else ""
    )
    progress(
        f"Training on {len(paths)} normal clips of {', '.join(machines)} "
        f"({n_classes} class(es)){with_aux}, detector {detector}: feature "
        f"extraction, then {then} ..."
    )
    fit_params = {}
    if sectioned:
        fit_params["sections"] = np.asarray(list(classes) + aux_classes, dtype=object)
    # skorch prints its epoch table on stdout: keep stdout for results
    with sklearn.config_context(enable_metadata_routing=True):
        with contextlib.redirect_stdout(err):
            pipeline.fit(list(paths) + aux_paths, **fit_params)
    if show_epochs:  # the epoch table was progress output, not a setting to keep
        det.set_params(verbose=0)
    sections = []  # the classes the model scores (never the auxiliary ones)
    if sectioned:
        known = getattr(det, "scored_classes_", None)
        if known is None:
            known = getattr(det, "classes_", [])
        sections = [c for c in list(known) if c not in set(aux_names)]
    info = save_model(
        pipeline,
        args.out,
        machine_types=machines,
        sections=sections,
        metadata={
            "detector": detector,
            "class_scheme": scheme,
            "naming": namings,
            "split": args.split,
            "n_clips": len(paths),
            "data_root": os.path.abspath(args.data_root),
            "auxiliary_classes": aux_names,
            "auxiliary": aux_records,
            "n_auxiliary_clips": len(aux_paths),
            "params": {
                k: repr(v)
                for k, v in sorted(pipeline.get_params().items())
                if "__" in k and not hasattr(v, "get_params")
            },
        },
    )
    if not args.quiet:
        details = [f"detector {detector}"]
        if hasattr(det, "n_epochs_"):
            details.append(f"{det.n_epochs_} epoch(s)")
        if getattr(det, "score_branch_", None) is not None:
            details.append(f"scored with the {det.score_branch_} branch")
        shown = (
            ", ".join(map(str, info["sections"]))
            if info["sections"]
            else f"none, {detector} ignores sections"
        )
        print(
            f"Trained on {len(paths)} normal clips of {', '.join(machines)} "
            f"(classes: {shown}; {', '.join(details)}){with_aux}; saved {args.out}",
            file=out,
        )
        if aux_names:
            print(f"Auxiliary classes: {', '.join(aux_names)}", file=out)
    return 0


def _plain_training_set(args):
    """List the clips of a plain folder of recordings of one healthy machine."""
    if args.machine_types or args.year is not None or args.split != "train":
        raise ValueError(
            f"{args.data_root!r} is a plain folder of audio files (every clip is "
            "taken as a normal recording of one machine): --machine-type, --year "
            "and --split apply to DCASE/MIMII trees only"
        )
    files = _audio_files_in(args.data_root)
    parsed = _name_infos(files)  # DCASE names (a copied train/ folder): sections
    if parsed:
        keep = [i["target"] != 1 for i in parsed]
        paths = [p for p, k in zip(files, keep) if k]
        classes = [i["section"] for i, k in zip(parsed, keep) if k]
        scheme = "section"
    else:
        paths, classes, scheme = files, ["all"] * len(files), None
    if not paths:
        raise ValueError(f"no normal clip in {args.data_root!r}")
    folder = os.path.normpath(os.path.abspath(args.data_root))
    machine = os.path.basename(folder)
    if scheme is not None:  # a DCASE split folder (.../<machine>/train): its parent
        machine = os.path.basename(os.path.dirname(folder))
    return paths, classes, [machine], scheme, ["plain folder"], None


def _tree_training_set(args):
    """List the normal training clips of a DCASE/MIMII tree and their classes."""
    import numpy as np

    data = _load_tree(args.data_root)
    machines = _choose_machine_types(data, args.machine_types, args.data_root, "train")
    in_machines = np.isin(data.machine_types, machines)
    splits = sorted(set(data.splits[in_machines].tolist()))
    if args.split not in splits:
        hint = (
            " (MIMII trees have no split: use --split unknown)"
            if (splits == ["unknown"])
            else ""
        )
        raise ValueError(
            f"no {args.split!r} split for machine type(s) {machines} in "
            f"{args.data_root!r}; splits found: {splits}{hint}"
        )
    mask = in_machines & (data.splits == args.split) & (data.target == 0)
    if not mask.any():
        raise ValueError(
            f"no normal clip in the {args.split!r} split of machine type(s) "
            f"{machines} in {args.data_root!r}"
        )
    namings = sorted(set(data.naming[mask].tolist()))
    if args.year is not None and namings != [_NAMING_OF_YEAR[args.year]]:
        raise ValueError(
            f"--year {args.year} expects DCASE {args.year} file names "
            f"({_NAMING_OF_YEAR[args.year]}), but the training files follow "
            f"{namings}"
        )
    paths = data.filenames[mask].tolist()
    scheme = "machine_section" if len(machines) > 1 else "section"
    classes = _class_labels(data.machine_types[mask], data.sections[mask], scheme)
    return paths, classes, machines, scheme, namings, data


# ------------------------------------------------------------ auxiliary classes
def _plain_groups(folder, flag):
    """``[(machine, section, paths)]`` of the normal clips of a plain folder."""
    files = _audio_files_in(folder)
    infos = _name_infos(files)
    if infos is None:  # recordings without DCASE names: all normal, one class
        if os.path.basename(os.path.normpath(os.path.abspath(folder))) == "abnormal":
            raise ValueError(
                f"{flag} has no normal clip: it is a MIMII 'abnormal' folder (pass "
                "the machine folder or the tree instead)"
            )
        return [(None, None, files)], []
    # DCASE names (a copied split folder): normal clips (label 0) only
    machine = None  # a split folder (.../<machine>/train): its parent's name
    if os.path.basename(os.path.normpath(os.path.abspath(folder))) in _SPLIT_FOLDERS:
        machine = os.path.basename(os.path.dirname(os.path.abspath(folder)))
    groups = {}
    for path, info in zip(files, infos):
        if info["target"] == 0:
            groups.setdefault(info["section"], []).append(path)
    if not groups:
        raise ValueError(
            f"{flag} has no normal clip: its DCASE file names label every clip "
            "anomalous or give no label"
        )
    return [(machine, s, groups[s]) for s in sorted(groups)], []


def _tree_groups(data, machines, flag):
    """``[(machine, section, paths)]`` of the normal clips (any split) of a tree."""
    groups, skipped = [], []
    for machine in machines:
        mask = (data.machine_types == machine) & (data.target == 0)
        if not mask.any():
            skipped.append(machine)
            continue
        for section in sorted(set(data.sections[mask].tolist())):
            paths = data.filenames[mask & (data.sections == section)].tolist()
            groups.append((machine, section, paths))
    if not groups:
        raise ValueError(
            f"{flag} has no normal clip (label 0, any split) in machine type(s) "
            f"{machines}"
        )
    notes = []
    if skipped:
        notes.append(
            f"{flag}: skipping machine type(s) {skipped} without normal clips (label 0)"
        )
    return groups, notes


def _folder_labels(folders):
    """Short distinct names of folders: the basename, with parents as needed.

    A folder named like a split (``train``, ``normal`` ...) starts with its
    parent (``fan/train``). Folders of equal names get parent folders until
    they differ (``a/dev`` and ``b/dev``).
    """
    parts = [
        [p for p in os.path.normpath(os.path.abspath(f)).split(os.sep) if p]
        for f in folders
    ]
    depth = [2 if (len(p) > 1 and p[-1] in _SPLIT_FOLDERS) else 1 for p in parts]
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        counts = collections.Counter(labels)
        grow = [
            i
            for i, label in enumerate(labels)
            if counts[label] > 1 and depth[i] < len(parts[i])
        ]
        if not grow:
            return labels
        for i in grow:
            depth[i] += 1


def _aux_class_name(label, machine, section):
    """``aux:<folder>/<machine>/<section>``, without parts the folder repeats."""
    parts = label.split("/")
    if machine is not None and machine not in parts:
        parts.append(str(machine))
    if section is not None and section != "unknown":
        parts.append(str(section))
    return _AUX_PREFIX + "/".join(parts)


def _auxiliary_set(args, data, machines, train_paths, train_classes):
    """Clips, per-clip classes and records of the auxiliary classes of ``train``.

    ``data`` is the listed DATA_ROOT tree (None for a plain folder) and
    ``machines`` its trained machine types. Every check runs before any
    warning is shown, so a failing command prints one error line.
    """
    sources, notes, seen = [], [], {}
    for folder in args.auxiliary:
        flag = f"--auxiliary {folder!r}"
        if not os.path.exists(folder):
            raise FileNotFoundError(f"{flag} does not exist")
        if not os.path.isdir(folder):
            raise ValueError(f"{flag} is not a folder")
        real = os.path.realpath(folder)
        if real in seen:
            raise ValueError(f"{flag} is given twice (as {seen[real]!r} before)")
        seen[real] = folder
        if _audio_files_in(folder):
            groups, more = _plain_groups(folder, flag)
        else:
            try:
                tree = _load_tree(folder, "--auxiliary")
            except ValueError as exc:
                raise ValueError(f"{flag}: {exc}") from None
            kinds = sorted(set(tree.machine_types.tolist()))
            groups, more = _tree_groups(tree, kinds, flag)
        sources.append((folder, flag, groups))
        notes += more
    if args.auxiliary_machine_types:
        flag = "--auxiliary-machine-types"
        if data is None:
            raise ValueError(
                f"{flag} takes other machine types of the DATA_ROOT tree, but "
                f"{args.data_root!r} is a plain folder of audio files: pass the "
                "other machines' folders with --auxiliary DIR"
            )
        available = sorted(set(data.machine_types.tolist()))
        requested = args.auxiliary_machine_types
        if "all" in requested and "all" not in available:
            chosen = [m for m in available if m not in machines]
            if not chosen:
                raise ValueError(
                    f"{flag} all: {args.data_root!r} holds no machine type besides "
                    f"the trained {machines}"
                )
        else:
            unknown = sorted(set(requested) - set(available))
            if unknown:
                raise ValueError(
                    f"unknown machine type(s) {unknown} in {flag}; "
                    f"{args.data_root!r} holds {available}"
                )
            trained = sorted(set(requested) & set(machines))
            if trained:
                raise ValueError(
                    f"{flag} {trained[0]}: a trained machine type cannot be an "
                    "auxiliary class (auxiliary classes are other machines)"
                )
            chosen = sorted(set(requested))
        groups, more = _tree_groups(data, chosen, f"{flag} {chosen}")
        sources.append((args.data_root, flag, groups))
        notes += more

    labels = _folder_labels([folder for folder, _, _ in sources])
    training = {os.path.realpath(p) for p in train_paths}
    train_names = {str(c) for c in train_classes}
    owner, names, paths, classes, records = {}, {}, [], [], []
    for label, (folder, flag, groups) in zip(labels, sources):
        for machine, section, clips in groups:
            name = _aux_class_name(label, machine, section)
            if name in train_names:
                raise ValueError(
                    f"the auxiliary class {name!r} ({flag}) has the name of a "
                    "training class: rename its folder"
                )
            if name in names:
                raise ValueError(
                    f"{flag} and {names[name]} both give the auxiliary class "
                    f"{name!r}: rename one of the folders"
                )
            names[name] = flag
            for path in clips:
                real = os.path.realpath(path)
                if real in training:
                    raise ValueError(
                        f"{flag}: the clip {path!r} is one of the training clips "
                        "(an auxiliary class must be another machine, never "
                        "recordings of the trained one)"
                    )
                if real in owner:
                    raise ValueError(
                        f"the clip {path!r} would be in two auxiliary classes "
                        f"({owner[real]!r} and {name!r}): give each folder once"
                    )
                owner[real] = name
            paths += list(clips)
            classes += [name] * len(clips)
            records.append(
                {
                    "class": name,
                    "folder": os.path.abspath(folder),
                    "machine_type": None if machine is None else str(machine),
                    "section": None if section is None else str(section),
                    "n_clips": len(clips),
                }
            )
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return paths, classes, records


# ----------------------------------------------------------------------- score
def _result_name(kind, machine, section, domain, split, naming):
    """File name of a DCASE result file (``kind``: anomaly_score / decision_result).

    The patterns follow the official baselines and evaluators: DCASE 2020
    ``anomaly_score_<machine>_id_<XX>.csv``, DCASE 2021
    ``anomaly_score_<machine>_section_<XX>_<source|target>_test.csv``, DCASE
    2022-2025 ``anomaly_score_<machine>_section_<XX>_test.csv``. MIMII trees have
    no official format: ``anomaly_score_<machine>.csv``.
    """
    suffix = "" if split in ("test", "unknown") else f"_{split}"
    if naming == "dcase2020":
        return f"{kind}_{machine}_id_{section}{suffix}.csv"
    if naming == "dcase2021":
        if domain not in ("source", "target"):
            raise ValueError(
                f"DCASE 2021 result files name the domain, but the {machine} "
                f"section {section} files have domain {domain!r}: use another --year"
            )
        return f"{kind}_{machine}_section_{section}_{domain}_{split}.csv"
    if naming == "dcase2022":
        return f"{kind}_{machine}_section_{section}_{split}.csv"
    if section not in ("unknown", None):
        return f"{kind}_{machine}_section_{section}{suffix}.csv"
    return f"{kind}_{machine}{suffix}.csv"


def _result_groups(data, mask, naming_override, split):
    """Map each result-file name of the anomaly scores to its clip indices."""
    import numpy as np

    groups = {}
    for i in np.flatnonzero(mask):
        naming = naming_override or data.naming[i]
        name = _result_name(
            "anomaly_score",
            data.machine_types[i],
            data.sections[i],
            data.domains[i],
            split,
            naming,
        )
        groups.setdefault(name, []).append(i)
    return groups


def _row_name(data, i):
    """Name of clip ``i`` in the result files: its file name, as DCASE writes it.

    MIMII trees repeat file names in their ``normal`` and ``abnormal`` folders,
    so there the label folder is kept: ``abnormal/00000000.wav``.
    """
    path = str(data.filenames[i])
    name = os.path.basename(path)
    if data.naming[i] == "mimii":
        return f"{os.path.basename(os.path.dirname(path))}/{name}"
    return name


def _write_csv(path, rows, header=None):
    """Write CSV rows atomically (newline line ends, as the DCASE baselines)."""
    from sklearn_asd.persistence import atomic_open

    with atomic_open(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        for row in rows:
            writer.writerow(row)


def _decisions(detector, scores):
    """1 = anomalous, 0 = normal, exactly as the detector's ``predict`` decides."""
    from sklearn_asd.utils._response import _anomaly_decisions, _anomaly_threshold

    if _anomaly_threshold(detector) is None:
        raise ValueError(
            f"the model's last step {type(detector).__name__} has no decision "
            "threshold (no offset_ or decision_function): decision files cannot "
            "be written"
        )
    return _anomaly_decisions(detector, scores)


def _known_classes(pipeline, info):
    """Classes a saved model scores: never auxiliary ones; None without sections."""
    detector = pipeline[-1]
    if not _uses_sections(detector):
        return None
    classes = getattr(detector, "scored_classes_", None)
    if classes is None:
        classes = getattr(detector, "classes_", None)
    if classes is not None:
        return list(classes)
    return info.get("sections") or None


def _auxiliary_classes(pipeline, info):
    """Auxiliary classes of a saved model (they train, but are never scored)."""
    classes = getattr(pipeline[-1], "auxiliary_classes_", None)
    if classes is not None:
        return list(classes)
    return list((info.get("metadata") or {}).get("auxiliary_classes") or [])


def _check_classes(labels, known, describe, auxiliary=()):
    """Raise a ValueError naming the first class the model was not trained on."""
    known_set = set(known)
    auxiliary = set(auxiliary)
    for i, label in enumerate(labels):
        if label not in known_set:
            if label in auxiliary:
                raise ValueError(
                    f"section {label!r} ({describe(i)}) is an auxiliary class of the "
                    "model: its clips only trained the classifier and it is never "
                    f"scored; score against one of {sorted(map(str, known))}"
                )
            raise ValueError(
                f"unknown section {label!r} ({describe(i)}): the model was trained on "
                f"{sorted(map(str, known))}"
            )


def _score_in_chunks(pipeline, paths, sections, chunk_size, progress, n_jobs=None):
    """Score ``chunk_size`` files at a time (split over ``n_jobs`` processes)."""
    import numpy as np

    from sklearn_asd.scoring import score_files

    workers = 1 if n_jobs is None else n_jobs if n_jobs > 0 else os.cpu_count() or 1
    per_job = max(1, -(-chunk_size // workers))  # one piece of each chunk per job
    scores = np.empty(len(paths), dtype=np.float64)
    for start in range(0, len(paths), chunk_size):
        stop = min(start + chunk_size, len(paths))
        part = None if sections is None else sections[start:stop]
        scores[start:stop] = score_files(
            pipeline,
            paths[start:stop],
            sections=part,
            chunk_size=per_job,
            n_jobs=n_jobs,
        )
        progress(f"  scored {stop}/{len(paths)} clips")
    return scores


def _audio_files_in(folder):
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if not name.startswith(".")
        and name.lower().endswith(_AUDIO_SUFFIXES)
        and os.path.isfile(os.path.join(folder, name))
    )


def _name_infos(paths):
    """Parse DCASE file names of loose files; None unless every name has a section."""
    from pathlib import Path

    from sklearn_asd.datasets._dcase import _parse_filename

    try:
        infos = [_parse_filename(Path("m", "f", Path(p).name)) for p in paths]
    except ValueError:
        return None
    return infos if all(i["section"] != "unknown" for i in infos) else None


def _plain_sections(paths, scheme, known, auxiliary=()):
    """Sections from the file names of a plain folder, if every name gives one."""
    infos = _name_infos(paths) if scheme == "section" else None
    if infos is None:
        return None
    sections = [i["section"] for i in infos]
    _check_classes(sections, known, lambda i: f"file {paths[i]!r}", auxiliary)
    return sections


def _run_score(args, out, err):
    import numpy as np

    from sklearn_asd.persistence import load_model

    progress = _Progress(args.quiet, err)
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be a positive number of processes, or -1")
    target = args.data_root
    if not os.path.exists(target):
        raise FileNotFoundError(f"DATA_ROOT {target!r} does not exist")
    pipeline, info = load_model(args.model, return_info=True)
    if not getattr(pipeline, "steps", None):
        raise ValueError(
            f"{args.model!r} holds a {type(pipeline).__name__}, not a pipeline that "
            "reads audio files"
        )
    meta = info.get("metadata") or {}
    scheme = meta.get("class_scheme")
    known = _known_classes(pipeline, info)
    auxiliary = _auxiliary_classes(pipeline, info)
    detector = pipeline[-1]
    if known is None:  # the detector ignores sections (e.g. AutoencoderBaseline)
        scheme = None

    plain = os.path.isfile(target) or bool(_audio_files_in(target))
    if plain and (args.machine_types or args.year is not None or args.split != "test"):
        raise ValueError(
            f"{target!r} is one file or a plain folder of audio files: "
            "--machine-type, --year and --split apply to DCASE/MIMII trees only"
        )
    if not plain and args.section is not None:
        raise ValueError("--section applies to one file or a plain folder only")
    if plain:
        paths = [target] if os.path.isfile(target) else _audio_files_in(target)
        if not paths[0].lower().endswith(_AUDIO_SUFFIXES):
            raise ValueError(f"{target!r} is not a .wav or .flac file")
        if args.section is not None:
            if not known:
                raise ValueError(
                    "--section needs a model trained with sections (its last step "
                    f"{type(detector).__name__} scores clips without them)"
                )
            _check_classes([args.section], known, lambda i: "--section", auxiliary)
            sections = [args.section] * len(paths)
        elif scheme:
            sections = _plain_sections(paths, scheme, known, auxiliary)
        else:
            sections = None
        if sections is None and known and len(known) > 1:
            warnings.warn(
                f"the file names give no section: each clip is scored against its "
                f"best-matching class of {len(known)} ({', '.join(map(str, known))});"
                " pass --section NAME to score against one",
                UserWarning,
                stacklevel=1,
            )
        how = "their sections" if sections else "the best-matching class"
        progress(f"Scoring {len(paths)} clip(s) against {how} ...")
        secs = None if sections is None else np.asarray(sections, dtype=object)
        scores = _score_in_chunks(
            pipeline,
            np.asarray(paths, dtype=object),
            secs,
            args.chunk_size,
            progress,
            args.n_jobs,
        )
        decisions = _decisions(detector, scores)
        os.makedirs(args.out, exist_ok=True)
        result = os.path.join(args.out, _PLAIN_RESULTS)
        # ranked: most anomalous first (ties keep the file order)
        order = np.argsort(-scores, kind="stable")
        _write_csv(
            result,
            (
                (paths[i], float(scores[i]), int(decisions[i]), rank)
                for rank, i in enumerate(order, start=1)
            ),
            header=("path", "score", "decision", "rank"),
        )
        if not args.quiet:
            print(f"Wrote {result} ({len(paths)} clip(s))", file=out)
        return 0

    data = _load_tree(target)
    requested = args.machine_types
    if not requested:
        trained = info.get("machine_types") or []
        present = sorted(set(trained) & set(data.machine_types.tolist()))
        available = sorted(set(data.machine_types.tolist()))
        if not present:
            raise ValueError(
                f"the model was trained on machine type(s) {trained}, but "
                f"{target!r} holds {available}: pass --machine-type to score "
                "other machine types with it"
            )
        requested = present
    machines = _choose_machine_types(data, requested, target, "score")
    in_machines = np.isin(data.machine_types, machines)
    mask = in_machines & (data.splits == args.split)
    if not mask.any():
        splits = sorted(set(data.splits[in_machines].tolist()))
        raise ValueError(
            f"no {args.split!r} split for machine type(s) {machines} in "
            f"{target!r}; splits found: {splits}"
        )
    override = None if args.year is None else _NAMING_OF_YEAR[args.year]
    groups = _result_groups(data, mask, override, args.split)
    for name, rows in groups.items():
        counts = collections.Counter(_row_name(data, i) for i in rows)
        twice = sorted(n for n, c in counts.items() if c > 1)
        if twice:
            raise ValueError(
                f"{name} would list the file name {twice[0]!r} more than once "
                "(several clips of one result file share a name)"
            )
    index = np.flatnonzero(mask)
    paths = data.filenames[index]
    sections = None
    if scheme is not None:
        labels = _class_labels(data.machine_types[index], data.sections[index], scheme)
        _check_classes(
            labels,
            known,
            lambda i: (
                f"machine type {str(data.machine_types[index[i]])!r}, file "
                f"{str(data.filenames[index[i]])!r}"
            ),
            auxiliary,
        )
        sections = np.asarray(labels, dtype=object)
    progress(
        f"Scoring {len(paths)} clip(s) of {', '.join(machines)} ({args.split} split) "
        f"in chunks of {args.chunk_size} ..."
    )
    scores = np.empty(data.filenames.shape[0], dtype=np.float64)
    scores[index] = _score_in_chunks(
        pipeline, paths.astype(object), sections, args.chunk_size, progress, args.n_jobs
    )
    decisions = np.zeros(data.filenames.shape[0], dtype=int)
    decisions[index] = _decisions(detector, scores[index])
    os.makedirs(args.out, exist_ok=True)
    written = []
    for name, rows in groups.items():
        names = [_row_name(data, i) for i in rows]
        _write_csv(
            os.path.join(args.out, name),
            zip(names, scores[rows].tolist()),
        )
        decision_name = "decision_result" + name[len("anomaly_score") :]
        _write_csv(
            os.path.join(args.out, decision_name),
            zip(names, decisions[rows].tolist()),
        )
        written += [name, decision_name]
    if not args.quiet:
        print(
            f"Wrote {len(written)} files to {args.out} ({len(paths)} clip(s)): "
            + ", ".join(sorted(written)),
            file=out,
        )
    return 0


# -------------------------------------------------------------------- evaluate
def _read_scores(path):
    """Rows ``file name,score`` of one anomaly-score file, as a dict."""
    scores = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 2:
                raise ValueError(
                    f"{path!r} line {line_no}: expected 'file name,score', got "
                    f"{','.join(row)!r}"
                )
            name = row[0].strip()
            try:
                value = float(row[1])
            except ValueError:
                raise ValueError(
                    f"{path!r} line {line_no}: the score {row[1]!r} is not a number"
                ) from None
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"{path!r} line {line_no}: the score is {row[1]}")
            if name in scores:
                raise ValueError(f"{path!r} line {line_no}: {name!r} appears twice")
            scores[name] = value
    return scores


def _run_evaluate(args, out, err):
    import numpy as np

    from sklearn_asd.metrics import official_score, section_report

    if not os.path.isdir(args.scores):
        raise FileNotFoundError(f"--scores folder {args.scores!r} does not exist")
    if args.out is not None:
        _check_output_file(args.out, "--out")
    _check_plots_folder(args.plots)
    data = _load_tree(args.data_root)
    in_split = data.splits == args.split
    if not in_split.any():
        raise ValueError(
            f"no {args.split!r} split in {args.data_root!r}; splits found: "
            f"{sorted(set(data.splits.tolist()))}"
        )
    available = sorted(set(data.machine_types[in_split].tolist()))
    machines = args.machine_types or available
    if "all" in machines and "all" not in available:
        machines = available
    elif not args.machine_types:
        # by default, the machine types that have score files in --scores
        files = set(os.listdir(args.scores))
        scored = [
            m
            for m in available
            if any(
                f.startswith(f"anomaly_score_{m}_") or f == f"anomaly_score_{m}.csv"
                for f in files
            )
        ]
        if not scored:
            raise FileNotFoundError(
                f"no anomaly_score_<machine type>_*.csv file in {args.scores!r} for "
                f"the machine types of {args.data_root!r} ({available})"
            )
        skipped = sorted(set(available) - set(scored))
        if skipped:
            print(
                f"Evaluating {scored}; no score files for {skipped} (pass "
                "--machine-type to require them)",
                file=out,
            )
        machines = scored
    unknown = sorted(set(machines) - set(available))
    if unknown:
        raise ValueError(
            f"unknown machine type(s) {unknown} in the {args.split!r} split of "
            f"{args.data_root!r}; available: {available}"
        )
    mask = in_split & np.isin(data.machine_types, machines)
    if (data.target[mask] < 0).any():
        first = str(data.filenames[mask][data.target[mask] < 0][0])
        raise ValueError(
            f"the {args.split!r} split of {args.data_root!r} has clips without a "
            f"label in their names (an evaluation set?), e.g. {first!r}: evaluate "
            "needs labelled (development) file names"
        )
    namings = sorted(set(data.naming[mask].tolist()))
    if args.year is not None:
        override, year = _NAMING_OF_YEAR[args.year], max(args.year, 2021)
    elif len(namings) == 1:
        override, year = None, _SCORE_YEAR_OF_NAMING[namings[0]]
    else:
        raise ValueError(
            f"the clips follow several naming schemes {namings}: choose the score "
            "files' naming and the official-score formula with --year"
        )
    groups = _result_groups(data, mask, override, args.split)
    scores = np.full(data.filenames.shape[0], np.nan)
    for name, rows in groups.items():
        path = os.path.join(args.scores, name)
        if not os.path.isfile(path):
            i = rows[0]
            raise FileNotFoundError(
                f"missing score file {name} in {args.scores!r} for machine type "
                f"{str(data.machine_types[i])!r}, section {str(data.sections[i])!r} "
                f"({len(rows)} clips); use --machine-type to evaluate only some "
                "machine types"
            )
        found = _read_scores(path)
        names = [_row_name(data, i) for i in rows]
        missing = [n for n in names if n not in found]
        if missing:
            raise ValueError(
                f"{path!r} has no score for {len(missing)} of its {len(names)} test "
                f"clips, e.g. {missing[0]!r}"
            )
        extra = sorted(set(found) - set(names))
        if extra:
            raise ValueError(
                f"{path!r} scores {len(extra)} file(s) that are not in the "
                f"{args.split!r} split of {args.data_root!r}, e.g. {extra[0]!r}"
            )
        scores[rows] = [found[n] for n in names]

    y = data.target[mask]
    s = scores[mask]
    sections = data.sections[mask]
    domains = data.domains[mask]
    machine_types = data.machine_types[mask] if len(machines) > 1 else None
    if year >= 2022:
        score_domains = domains
    else:
        score_domains = None if set(domains.tolist()) == {"unknown"} else domains
    kw = {"sections": sections, "domains": score_domains}
    kw["machine_types"] = machine_types
    try:
        official = official_score(y, s, year=year, **kw)
    except ValueError as exc:
        if not _one_class_group(exc) or len(np.unique(y)) < 2:
            raise  # (nothing at all to evaluate with one class overall)
        official, official_error = float("nan"), exc
    try:
        report = section_report(y, s, output_dict=True, **kw)
        print(section_report(y, s, **kw), file=out)
        header = list(report)
        rows = [
            ["" if v is None else v for v in values] + [""]
            for values in zip(*(report[c] for c in header))
        ]
    except ValueError as exc:
        if not _one_class_group(exc):
            raise
        # a section/domain group has one class: the groups that are defined,
        # n/a for the others, and each machine type over all its clips
        header = ["machine_type", "section", "domain", "n_normal", "n_anomalous"]
        header += ["auc", "pauc"]
        keys = list(zip(data.machine_types[mask], sections, domains))
        table, group_rows = _defined_groups_table(y, s, keys, header[:3])
        pooled, machine_rows = _defined_groups_table(
            y, s, list(zip(data.machine_types[mask])), ["machine_type (all clips)"]
        )
        print(table + "\n" + pooled, file=out)
        print(f"(n/a: {_one_line(exc)})", file=out)
        rows = [[*row, ""] for row in group_rows]
        rows += [[m, "all", "all", *rest, ""] for m, *rest in machine_rows]
        rows = [["" if v is None else v for v in row] for row in rows]
    note = ""
    if args.year == 2020 or (args.year is None and namings == ["dcase2020"]):
        note = " (DCASE 2020 ranked by average AUC/pAUC; this is the 2021 formula)"
    if official == official:
        print(f"official score (DCASE {year} formula): {official:.4f}{note}", file=out)
    else:
        print(
            f"official score (DCASE {year} formula): undefined "
            f"({_one_line(official_error)})",
            file=out,
        )
    if args.out is not None:
        last = dict.fromkeys(header, "")
        last.update(
            machine_type="all",
            section=f"official score (DCASE {year})",
            n_normal=int((y == 0).sum()),
            n_anomalous=int((y == 1).sum()),
        )
        value = official if official == official else ""
        rows.append([last[c] for c in header] + [value])
        _write_csv(args.out, rows, header=[*header, "official_score"])
        print(f"Wrote {args.out}", file=out)
    if args.plots is not None:
        if machine_types is None:  # one machine type: a curve per section
            groups = panels = np.asarray([str(v) for v in sections], dtype=object)
        else:  # a curve per machine type, a histogram row per machine/section
            groups = np.asarray([str(v) for v in machine_types], dtype=object)
            panels = np.asarray(
                [f"{m}/{c}" for m, c in zip(machine_types, sections)], dtype=object
            )
        say = lambda text: print(text, file=out)  # noqa: E731
        _evaluate_plots(args.plots, y, s, groups, panels, score_domains, say)
    return 0


_COMMANDS = {
    "demo": "_run_demo",
    "train": "_run_train",
    "score": "_run_score",
    "evaluate": "_run_evaluate",
    "export": "_run_export",
}


def main(argv=None):
    """Run the ``sklearn-asd`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on a usage error (missing folder, no audio files,
        unreadable or incompatible model file, bad ``--param`` ...), 130 when
        interrupted.

    Examples
    --------
    >>> from sklearn_asd.cli import main
    >>> main(["demo", "--n-train", "6", "--n-test", "4", "--duration", "1",
    ...       "--quiet"])  # doctest: +ELLIPSIS
    <BLANKLINE>
    AUC / pAUC ...
    0
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    prog = f"sklearn-asd {args.command}"
    out, err = sys.stdout, sys.stderr

    def show(message, category, filename, lineno, file=None, line=None):
        text = _one_line(f"{category.__name__}: {message}")
        print(f"{prog}: warning: {text}", file=err)

    run = globals()[_COMMANDS[args.command]]
    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return run(args, out, err) if args.command != "demo" else run(args, out)
        except (ValueError, TypeError, OSError, ImportError) as exc:
            print(f"{prog}: error: {_one_line(exc)}", file=err)
            return 2
        except KeyboardInterrupt:
            done = {
                "train": "; no model was saved",
                "score": "; result files written so far are complete, the "
                "others were not written",
                "evaluate": "; no report was written",
                "export": "; no ONNX file was written",
            }.get(args.command, "")
            print(f"{prog}: interrupted{done}", file=err)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
