# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ablation of the seed system (MBv2, +CL, +MF, +CL,MF) beside the baselines.

A thin wrapper of ``sklearn-asd ablation`` (the runner is the package's
``sklearn_asd/_ablation/``; see ``docs/ablation.md``), kept so that the commands
of the benchmark pages keep working. Two differences from the sub-command:

- ``--out`` defaults to ``benchmarks/results/`` (the sub-command's default is
  ``./ablation_results``);
- ``--machine-types A B ...`` (deprecated) is translated to
  ``--machine-type A --machine-type B ...``.

Usage::

    python benchmarks/ablation.py DATA_ROOT [--machine-type fan ...]
        [--seeds 0 1 2] [--device cpu|cuda] [--out DIR] [--name NAME]
        [--rows mbv2 cl mf cl_mf ae iforest iforest_mf pyod_emb pyod_ae]
        [--classes auto|section|machine_section]
        [--param [ROW:]STEP__NAME=VALUE ...]
    python benchmarks/ablation.py --quick [--out DIR]

Exit codes: 0 done, 2 usage or data error (one-line message), 130 interrupted
(finished cells are kept; rerun the same command to resume).
"""

import sys
from pathlib import Path

from sklearn_asd.cli import main as cli_main

RESULTS = Path(__file__).resolve().parent / "results"


def translate(argv):
    """Arguments of ``sklearn-asd ablation`` for this script's ``argv``."""
    argv = list(argv)
    out = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--machine-types" or arg.startswith("--machine-types="):
            print(
                "ablation.py: warning: --machine-types is deprecated; use "
                "--machine-type NAME (repeatable), as in sklearn-asd ablation",
                file=sys.stderr,
            )
            names = [arg.split("=", 1)[1]] if "=" in arg else []
            i += 1
            while i < len(argv) and not argv[i].startswith("-"):
                names.append(argv[i])
                i += 1
            for name in names:
                out += ["--machine-type", name]
            continue
        out.append(arg)
        i += 1
    if not any(a == "--out" or a.startswith("--out=") for a in out):
        out += ["--out", str(RESULTS)]
    return out


def main(argv=None):
    """Run ``sklearn-asd ablation``; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    return cli_main(["ablation", *translate(argv)])


if __name__ == "__main__":
    sys.exit(main())
