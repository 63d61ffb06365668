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

``fetch DATASET [--machine-type NAME] [--subset dev|eval|additional]``
    :func:`~sklearn_asd.datasets.fetch_dcase`: download a DCASE Task 2 set
    from Zenodo (MD5-checked, resumable) and print the folder of its tree.

``export MODEL --out FILE.onnx``
    Write the scoring graph of a saved model as an ONNX model
    (:func:`~sklearn_asd.export.export_onnx`; ``--include-frontend`` puts the
    log-mel front end in the graph so that it takes waveforms).

``ablation DATA_ROOT [--machine-type NAME] [--seeds 0 1 2] [--device cuda]``
    The seed system's ablation table (MBv2, +CL, +MF, +CL,MF) beside the DCASE
    autoencoder baseline, IsolationForest and, when installed, PyOD's audio
    detectors: every (machine type, row, seed) cell is trained, scored and
    saved at once to ``--out`` (default ``./ablation_results``) as CSV, then
    summarized as Markdown and JSON; rerunning the same command resumes
    (``--quick``: the same on synthetic data with tiny models).

Every output file is written atomically (a temporary file in the same folder,
then :func:`os.replace`). Progress goes to stderr when it is a terminal, unless
``--quiet``.

Exit codes: 0 on success, 2 on a usage error (a one-line ``sklearn-asd <command>:
error: ...`` message, no traceback), 130 when interrupted (nothing is saved;
``ablation`` keeps its finished cells).

Each sub-command is a private module of this package (``_demo``, ``_train``,
``_score``, ``_evaluate``, ``_export``, ``_fetch``, ``_ablation``) with
``add_parser(subparsers)`` and ``run(args, out, err)``; the result files' names
and rows are :mod:`sklearn_asd.submission`'s.
"""

import argparse
import sys
import warnings

from sklearn_asd.cli import (
    _ablation,
    _demo,
    _evaluate,
    _export,
    _fetch,
    _score,
    _train,
)
from sklearn_asd.cli._common import _one_line

__all__ = ["main"]

#: The sub-commands, in the order of ``sklearn-asd --help``.
_COMMANDS = {
    "demo": _demo,
    "train": _train,
    "score": _score,
    "evaluate": _evaluate,
    "export": _export,
    "fetch": _fetch,
    "ablation": _ablation,
}


def _build_parser():
    """Build the ``sklearn-asd`` argument parser (the docs render its help)."""
    parser = argparse.ArgumentParser(
        prog="sklearn-asd",
        description="Anomalous machine sound detection with a scikit-learn API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS.values():
        command.add_parser(sub).set_defaults(
            run=command.run, interrupted=command.INTERRUPTED
        )
    return parser


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

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return args.run(args, out, err)
        except (ValueError, OSError, ImportError) as exc:
            # user errors; a TypeError is a bug and keeps its traceback
            print(f"{prog}: error: {_one_line(exc)}", file=err)
            return 2
        except KeyboardInterrupt:
            print(f"{prog}: interrupted{args.interrupted}", file=err)
            return 130
