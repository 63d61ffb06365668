# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd demo``: train and score detectors on synthetic sounds (or --data)."""

from sklearn_asd.cli._common import (
    _check_plots_folder,
    _clip_seconds,
    _defined_groups_table,
    _load_tree,
    _metric_or_nan,
    _one_line,
    _positive_int,
    _pyplot,
    _save_figures,
)

__all__ = []

#: What an interrupted ``demo`` leaves behind (nothing to say).
INTERRUPTED = ""
#: Share of each machine type's normal clips (by file name) that trains the
#: demo on a tree without train/test splits (MIMII). The demo's own hold-out
#: convention, not a DCASE or MIMII rule: MIMII defines no split.
_TRAIN_SHARE = 0.6


def add_parser(subparsers):
    """Add the ``demo`` sub-command to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "demo",
        help="train and score detectors on synthetic machine sounds (or --data)",
        description=(
            "Generate synthetic machine sounds (sklearn_asd.datasets."
            "make_machine_sounds), or read the clips of a DCASE/MIMII tree "
            "(--data), train on normal clips only, score held-out normal and "
            "anomalous clips and print AUC/pAUC tables; --plots writes figures."
        ),
    )
    parser.add_argument(
        "--n-train", type=_positive_int, default=60, help="normal training clips"
    )
    parser.add_argument(
        "--n-test",
        type=_positive_int,
        default=60,
        help="normal and anomalous test clips (each)",
    )
    parser.add_argument("--n-sections", type=_positive_int, default=3)
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds (synthetic clips: default 4; with --data: clips are padded "
        "or cropped to it, default the first training clip's length)",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=5,
        help="training epochs of the contrastive detector",
    )
    parser.add_argument(
        "--severity", type=float, default=0.5, help="anomaly strength in [0, 1]"
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--data",
        metavar="ROOT",
        help=(
            "a DCASE/MIMII tree: train on its normal training clips (machine type "
            "x section as classes) and score its labelled test clips instead of "
            "synthetic sounds; a tree without train/test splits (MIMII) trains on "
            "the first 60%% of each machine type's normal clips by file name"
        ),
    )
    parser.add_argument(
        "--plots",
        metavar="DIR",
        help="write roc.png, scores.png and median_filter.png to DIR (matplotlib)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the results")

    return parser


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
            train[idx[: round(_TRAIN_SHARE * len(idx))]] = True
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


def _cell(value, width):
    """Format a right-aligned table cell: 3 decimals, or n/a for NaN."""
    return f"{'n/a':>{width}}" if value != value else f"{value:>{width}.3f}"


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


def run(args, out, err):
    """Run ``demo``; return the exit status."""
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.features import LogMelSpectrogram, MedianFilter
    from sklearn_asd.metrics import official_score, partial_auc_score, section_report
    from sklearn_asd.utils._response import _anomaly_scores, _anomaly_threshold

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
        results[f"contrastive, {branch} score{suffix}"] = _anomaly_scores(
            det, X_test, sections=test_classes
        )
        # predict's threshold in the DCASE sign, for the first (unfiltered) row
        data.setdefault("threshold", _anomaly_threshold(det))
        if det.score_branch_ == "cnn":
            det.set_params(score_branch="ae")
            results["contrastive, AE-branch score" + suffix] = _anomaly_scores(
                det, X_test
            )
        # DCASE sign: higher = more anomalous
        results["IsolationForest" + suffix] = _anomaly_scores(
            dets["iforest"].fit(X_train), X_test
        )

    y = data["y"]
    best = next(iter(results))
    print(
        f"\nAUC / pAUC (McClish-standardized, max_fpr=0.1) per section, {best}:",
        file=out,
    )
    report, undefined = _metric_or_nan(
        section_report, y, results[best], sections=test_classes
    )
    if not undefined:
        print(report, file=out)
    else:
        table, _ = _defined_groups_table(
            y, results[best], list(zip(test_classes)), ["section"]
        )
        print(table, file=out)
        print(
            f"(n/a: {_one_line(undefined[0])} The official score is undefined then.)\n",
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
            + _cell(
                _metric_or_nan(official_score, y, score, sections=test_classes)[0], 10
            )
            + "".join(_cell(v, 12) for v in per_column)
        )
        print(row, file=out)
    if args.plots is not None:
        _demo_plots(args.plots, results, data, mel, mf, say)
    return 0
