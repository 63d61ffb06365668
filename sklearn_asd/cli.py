# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``sklearn-asd`` command line, a thin layer over the Python API.

Sub-commands available now:

``demo``
    Generate synthetic machine sounds, extract log-mel features, train the
    contrastive detector (a tiny CPU configuration) and an IsolationForest on
    per-band log-mel statistics, with and without the median filter, and print
    AUC/pAUC per section, per anomaly kind and the DCASE 2021 official score of
    held-out normal and anomalous clips.

Exit codes: 0 on success, 2 on a usage error (one-line message, no traceback).
"""

import argparse
import sys

__all__ = ["main"]


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-asd",
        description="Anomalous machine sound detection with a scikit-learn API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="train and score detectors on synthetic machine sounds",
        description=(
            "Generate synthetic machine sounds (sklearn_asd.datasets."
            "make_machine_sounds), train on normal clips only and score held-out "
            "normal and anomalous clips."
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
    demo.add_argument("--duration", type=float, default=4.0, help="seconds")
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
    demo.add_argument("--quiet", action="store_true", help="print only the results")
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


def _run_demo(args, out):
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.datasets import make_machine_sounds
    from sklearn_asd.features import LogMelSpectrogram, MedianFilter
    from sklearn_asd.metrics import official_score, partial_auc_score, section_report

    def say(text):
        if not args.quiet:
            print(text, file=out, flush=True)

    if not 0.0 <= args.severity <= 1.0:
        raise ValueError(f"--severity must be in [0, 1], got {args.severity}")
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
    say("Extracting log-mel spectrograms (128 bands) ...")
    mel = LogMelSpectrogram().fit(train.data)
    features = {False: (mel.transform(train.data), mel.transform(test.data))}
    mf = MedianFilter().fit(features[False][0])
    features[True] = tuple(mf.transform(X) for X in features[False])

    results = {}
    for median_filter, (X_train, X_test) in features.items():
        suffix = " +MF" if median_filter else ""
        dets = _demo_detectors(args.random_state, args.epochs)
        say(f"Training the contrastive detector{suffix} ({args.epochs} epochs) ...")
        det = dets["contrastive"].fit(X_train, sections=train.sections)
        results["contrastive, seed CNN score" + suffix] = det.anomaly_score(
            X_test, sections=test.sections
        )
        det.set_params(score_branch="ae")
        results["contrastive, AE-branch score" + suffix] = det.anomaly_score(X_test)
        # DCASE sign: higher = more anomalous
        results["IsolationForest" + suffix] = -(
            dets["iforest"].fit(X_train).decision_function(X_test)
        )

    y, sections = test.target, test.sections
    best = "contrastive, seed CNN score"
    print(
        f"\nAUC / pAUC (McClish-standardized, max_fpr=0.1) per section, {best}:",
        file=out,
    )
    print(section_report(y, results[best], sections=sections), file=out)
    kinds = sorted(set(test.anomaly_kinds) - {"normal"})
    width = max(len(name) for name in results) + 2
    header = f"{'detector':<{width}}{'AUC':>7}{'pAUC':>7}{'official':>10}" + "".join(
        f"{k:>12}" for k in kinds
    )
    print(
        "Summary (official = DCASE 2021 score; last columns: AUC per anomaly kind):",
        file=out,
    )
    print(header, file=out)
    for name, score in results.items():
        per_kind = []
        for kind in kinds:
            mask = (test.anomaly_kinds == kind) | (y == 0)
            per_kind.append(roc_auc_score(y[mask], score[mask]))
        row = (
            f"{name:<{width}}{roc_auc_score(y, score):>7.3f}"
            f"{partial_auc_score(y, score):>7.3f}"
            f"{official_score(y, score, sections=sections):>10.3f}"
            + "".join(f"{v:>12.3f}" for v in per_kind)
        )
        print(row, file=out)
    return 0


def main(argv=None):
    """Run the ``sklearn-asd`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on a usage error.

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
    try:
        if args.command == "demo":
            return _run_demo(args, sys.stdout)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"sklearn-asd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
