# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd ablation``: the seed's ablation table beside the baselines."""

import shlex

from sklearn_asd._ablation._config import DEFAULT_OUT, ROWS
from sklearn_asd.cli._common import _add_machine_type

__all__ = []

#: What an interrupted ``ablation`` leaves behind (when the runner itself did
#: not catch the interruption between two cells).
INTERRUPTED = "; the finished cells are kept: rerun the same command to resume"


def add_parser(subparsers):
    """Add the ``ablation`` sub-command to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "ablation",
        help="reproduce the seed's ablation (MBv2, +CL, +MF, +CL,MF) beside baselines",
        description=(
            "Train every row on the normal clips of the train split of each "
            "machine type of DATA_ROOT and score its test split, on identical "
            "log-mel features, for every seed: mbv2 (MBv2: ContrastiveASDEstimator("
            "branches='cnn')), cl (+CL: dual branch, CNN score), mf (+MF: "
            "MedianFilter first), cl_mf (+CL,MF), ae (AutoencoderBaseline), iforest "
            "and iforest_mf (BandStatistics + IsolationForest), pyod_emb and "
            "pyod_ae (PyOD's audio detectors, when installed). Each finished "
            "(machine type, row, seed) cell is saved at once to OUT/NAME.csv and "
            "its clip scores to OUT/NAME_scores.csv; NAME.md (mean ± std over "
            "seeds, the seed's published numbers beside) and NAME.json (machine, "
            "versions, commit, parameters) are written at the end. Rerunning the "
            "same command skips the finished cells; a changed configuration is "
            "refused (use another --out or --name). --quick runs the same code "
            "on a small synthetic tree with tiny models."
        ),
    )
    parser.add_argument(
        "data_root",
        nargs="?",
        metavar="DATA_ROOT",
        help="DCASE-style tree with train and labelled test clips (omit with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="synthetic data (2 machine types), tiny models, seeds 0 1",
    )
    _add_machine_type(
        parser,
        "machine type of DATA_ROOT to run (repeat for several; default or 'all': "
        "every machine type)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        help="seeds of every row (default: 0 1 2; 0 1 with --quick)",
    )
    parser.add_argument(
        "--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch threads (default: 1 with --quick, else torch's default)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"results folder (default ./{DEFAULT_OUT}; created if missing)",
    )
    parser.add_argument(
        "--name",
        help="file name stem of the results (default ablation, or ablation_quick)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        metavar="ROW",
        help="rows to run, in this order (default all: " + " ".join(ROWS) + ")",
    )
    parser.add_argument(
        "--classes",
        choices=["auto", "section", "machine_section"],
        default="auto",
        help=(
            "classes of the section classifier: the sections of each machine "
            "type, or <machine>/<section> over all machine types (auto: section "
            "when every machine type has >= 2 sections, default)"
        ),
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[ROW:]STEP__NAME=VALUE",
        help=(
            "set a parameter of the row pipelines (steps load, mel: all rows; mf, "
            "stats, det), e.g. det__max_epochs=5 or mbv2:det__max_epochs=3; VALUE "
            "parses as in train --param; repeatable"
        ),
    )
    return parser


def _command_line(args):
    """Return the command line of ``args``, as recorded in NAME.json."""
    argv = ["sklearn-asd", "ablation"]
    argv += ["--quick"] if args.quick else []
    argv += [args.data_root] if args.data_root is not None else []
    for machine in args.machine_types or []:
        argv += ["--machine-type", machine]
    for flag in ("seeds", "rows"):
        if getattr(args, flag):
            argv += [f"--{flag}", *map(str, getattr(args, flag))]
    argv += [] if args.device == "cpu" else ["--device", args.device]
    for flag in ("threads", "out", "name"):
        if getattr(args, flag) is not None:
            argv += [f"--{flag}", str(getattr(args, flag))]
    argv += [] if args.classes == "auto" else ["--classes", args.classes]
    for spec in args.param:
        argv += ["--param", spec]
    return shlex.join(argv)


def run(args, out, err):
    """Run ``ablation``; return the exit status."""
    from sklearn_asd._ablation._runner import run_ablation

    def say(text):
        print(text, file=out, flush=True)

    return run_ablation(
        args.data_root,
        quick=args.quick,
        machine_types=args.machine_types,
        seeds=args.seeds,
        device=args.device,
        threads=args.threads,
        out=args.out,
        name=args.name,
        rows=args.rows,
        classes=args.classes,
        params=args.param,
        command=_command_line(args),
        say=say,
    )
