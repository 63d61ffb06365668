# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd evaluate``: AUC, pAUC and the official score of result files."""

import os

from sklearn_asd.cli._common import (
    _add_machine_type,
    _check_output_file,
    _check_plots_folder,
    _defined_groups_table,
    _load_tree,
    _metric_or_nan,
    _one_line,
    _pyplot,
    _save_figures,
)
from sklearn_asd.utils._csv import _write_csv

__all__ = []

#: What an interrupted ``evaluate`` leaves behind.
INTERRUPTED = "; no report was written"


def add_parser(subparsers):
    """Add the ``evaluate`` sub-command to ``subparsers``; return its parser."""
    from sklearn_asd.submission import YEARS

    parser = subparsers.add_parser(
        "evaluate",
        help="AUC, pAUC and the DCASE official score of anomaly-score files",
        description=(
            "Read the anomaly_score_*.csv files of DIR, take the labels from the "
            "file names of DATA_ROOT's test split and print AUC and pAUC per "
            "machine type, section and domain and the DCASE official score."
        ),
    )
    parser.add_argument("data_root", metavar="DATA_ROOT", help="labelled dataset root")
    parser.add_argument(
        "--scores", required=True, metavar="DIR", help="folder of score files"
    )
    parser.add_argument(
        "--year",
        type=int,
        choices=YEARS,
        help=(
            "naming of the score files and official-score formula (default: from "
            "the file names; DCASE 2020 trees use the 2021 formula)"
        ),
    )
    parser.add_argument("--split", default="test", help="split to evaluate (test)")
    _add_machine_type(
        parser, "machine type to evaluate (repeatable; default: all of the split)"
    )
    parser.add_argument(
        "--out", metavar="REPORT", help="write the table as CSV to this file"
    )
    parser.add_argument(
        "--plots",
        metavar="DIR",
        help=(
            "write roc.png (ROC per section, or per machine type, with the pAUC "
            "region) and scores.png (score histograms per section and domain) to "
            "DIR (matplotlib)"
        ),
    )
    return parser


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


def run(args, out, err):
    """Run ``evaluate``; return the exit status."""
    import numpy as np

    from sklearn_asd.metrics import official_score, section_report
    from sklearn_asd.submission import (
        clip_name,
        official_score_year,
        read_result_file,
        result_files,
    )

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
        override, year = args.year, official_score_year(args.year)
    elif len(namings) == 1:
        override, year = None, official_score_year(namings[0])
    else:
        raise ValueError(
            f"the clips follow several naming schemes {namings}: choose the score "
            "files' naming and the official-score formula with --year"
        )
    groups = result_files(data, indices=np.flatnonzero(mask), naming=override)
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
        found = read_result_file(path)
        names = [clip_name(data.filenames[i], data.naming[i]) for i in rows]
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
    if len(np.unique(y)) < 2:  # nothing at all to evaluate: the metric's error
        official_score(y, s, year=year, **kw)
    official, official_undefined = _metric_or_nan(official_score, y, s, year=year, **kw)
    text, report_undefined = _metric_or_nan(section_report, y, s, **kw)
    if not report_undefined:
        report = section_report(y, s, output_dict=True, **kw)
        print(text, file=out)
        header = list(report)
        rows = [
            ["" if v is None else v for v in values] + [""]
            for values in zip(*(report[c] for c in header))
        ]
    else:
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
        print(f"(n/a: {_one_line(report_undefined[0])})", file=out)
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
            f"({_one_line(official_undefined[0])})",
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
