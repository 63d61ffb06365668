# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the sub-commands.

Progress lines, output checks, ``--param`` parsing, tree and folder listing,
figures and metric tables (atomic CSV writing is ``sklearn_asd.utils._csv``).
"""

import argparse
import ast
import difflib
import os
import warnings

from sklearn_asd.utils._audio import _AUDIO_SUFFIXES

__all__ = []

#: Folder names of DCASE/MIMII splits: a plain folder of that name is named
#: after its parent too (``fan/train``).
_SPLIT_FOLDERS = ("train", "test", "source_test", "target_test", "normal", "abnormal")


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


def _clip_seconds(path, loader):
    """Length in seconds of one file as ``loader`` reads it (resampled, mixed)."""
    from sklearn_asd.utils._audio import _read_audio

    return _read_audio(path, sr=loader.sr, mono=loader.mono).shape[0] / loader.sr


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


def _uses_sections(detector):
    """Whether ``detector`` scores a clip against its section (or the best one)."""
    return hasattr(detector, "anomaly_score") and getattr(
        detector, "_uses_sections", True
    )


def _metric_or_nan(metric, *args, **kwargs):
    """``(value, reasons)`` of a metric; NaN and the reasons when a group is undefined.

    ``metric`` is ``official_score`` or ``section_report``, called with
    ``undefined="nan"``: the messages of its ``UndefinedMetricWarning`` (one per
    group with one class) are the reasons, and the value is then NaN (the
    score of the defined groups alone is not the score of all of them).
    """
    from sklearn.exceptions import UndefinedMetricWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        value = metric(*args, undefined="nan", **kwargs)
    reasons = []
    for w in caught:
        if issubclass(w.category, UndefinedMetricWarning):
            reasons.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return (float("nan") if reasons else value), reasons


def _defined_groups_table(y, scores, keys, header):
    """Table of AUC/pAUC per group, ``n/a`` where a group has one class."""
    from sklearn.exceptions import UndefinedMetricWarning

    from sklearn_asd.metrics import section_report

    keys = [tuple(str(v) for v in k) for k in keys]
    widths = [max(len(h), *(len(k[j]) for k in keys)) + 2 for j, h in enumerate(header)]
    lines = [
        "".join(f"{h:<{w}}" for h, w in zip(header, widths))
        + f"{'n_normal':>10}{'n_anomalous':>13}{'AUC':>8}{'pAUC':>8}"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        report = section_report(
            y, scores, sections=keys, output_dict=True, undefined="nan"
        )
    rows = []
    # the groups, in sorted order; the last two rows are the means
    for key, n_normal, n_anomalous, auc, pauc in zip(
        *(report[c][:-2] for c in ("section", "n_normal", "n_anomalous", "auc", "pauc"))
    ):
        if auc == auc:
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
