# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd fetch``: download a DCASE Task 2 set (only when asked to)."""

import re

from sklearn_asd.cli._common import _add_machine_type, _positive_int

__all__ = []

#: What an interrupted ``fetch`` leaves behind.
INTERRUPTED = (
    "; partial downloads are kept in the set's .downloads folder and the next "
    "fetch resumes them and completes the set"
)

_DATASETS = (
    "dcase2020",
    "dcase2021",
    "dcase2022",
    "dcase2023",
    "dcase2024",
    "dcase2025",
)


def add_parser(subparsers):
    """Add the ``fetch`` sub-command to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "fetch",
        help="download a DCASE Task 2 dataset from Zenodo",
        description=(
            "Download DATASET (dcase2020 ... dcase2025) from its official Zenodo "
            "records (or --base-url, a mirror speaking Zenodo's records API), "
            "check every file's MD5, extract it to "
            "<data home>/<DATASET>/{dev_data,eval_data}/ and print that folder, "
            "which 'train', 'score' and 'ablation' read. A set fetched before is "
            "not downloaded again; an interrupted download resumes. See "
            "sklearn_asd.datasets.fetch_dcase."
        ),
    )
    parser.add_argument(
        "dataset", metavar="DATASET", choices=_DATASETS, help=", ".join(_DATASETS)
    )
    _add_machine_type(
        parser,
        "fetch only this machine type (archive name, e.g. fan, ToyCar); "
        "repeatable; default: every machine type of the record",
    )
    parser.add_argument(
        "--subset",
        choices=("dev", "eval", "additional"),
        default="dev",
        help=(
            "dev: development set (default); additional: additional training "
            "data of the evaluation sections; eval: evaluation test clips with "
            "the official ground truth where Zenodo has it (2020, 2021)"
        ),
    )
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        help="where sets are kept (default: $SKLEARN_ASD_DATA or ~/sklearn_asd_data)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="server of the records API (default: https://zenodo.org)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_int,
        default=60,
        metavar="S",
        help="seconds to wait for the server (default: 60)",
    )
    return parser


def run(args, out, err):
    """Run ``fetch``; return the exit status."""
    from sklearn_asd.datasets import fetch_dcase

    year = int(re.fullmatch(r"dcase(\d{4})", args.dataset)[1])
    data = fetch_dcase(
        year,
        machine_types=args.machine_types,
        subset=args.subset,
        data_home=args.data_home,
        base_url=args.base_url,
        timeout=float(args.timeout),
    )
    machines = sorted(set(data.machine_types.tolist()))
    labelled = int((data.target >= 0).sum())
    print(
        f"DCASE {year} {args.subset}: {len(data.filenames)} clips "
        f"({labelled} labelled) of {', '.join(machines)} in",
        file=err,
    )
    print(data.root, file=out)
    return 0
