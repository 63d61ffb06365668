# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""List the clips of a DCASE Task 2 or MIMII folder tree, with their metadata.

The loader only parses folder and file names; it never opens the audio files
(``sklearn_asd.features.AudioLoader`` reads them inside a pipeline). Every naming
scheme of the DCASE 2020-2024 "anomalous sound detection" tasks and the MIMII
folder layout is recognised file by file, so one tree may mix years.
"""

import csv
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from sklearn_asd.utils._audio import _AUDIO_SUFFIXES

__all__ = ["load_dcase"]

#: Value of every string field that the file and folder names do not give.
_UNKNOWN = "unknown"


# Split folders of the DCASE layouts (2021 development sets have two test folders).
_SPLIT_FOLDERS = {
    "train": ("train", None),
    "test": ("test", None),
    "source_test": ("test", "source"),
    "target_test": ("test", "target"),
}
# Label folders of the MIMII layout.
_LABEL_FOLDERS = {"normal": 0, "abnormal": 1}
_KNOWN_SUBFOLDERS = frozenset(_SPLIT_FOLDERS) | frozenset(_LABEL_FOLDERS)

_TARGETS = {"normal": 0, "anomaly": 1}
_LABELS = {0: "normal", 1: "anomaly", -1: _UNKNOWN}

_RE_2020 = re.compile(r"(?P<label>normal|anomaly)_id_(?P<section>\d+)_\d+")
_RE_2020_EVAL = re.compile(r"id_(?P<section>\d+)_\d+")
_RE_SECTION = re.compile(
    r"section_(?P<section>\d+)_(?P<domain>source|target)_(?P<split>train|test)_"
    r"(?P<label>normal|anomaly)_\d+(?:_(?P<attrs>.+))?"
)
_RE_2021_EVAL = re.compile(
    r"section_(?P<section>\d+)_(?P<domain>source|target)_(?P<split>test)_\d+"
)
_RE_2022_EVAL = re.compile(r"section_(?P<section>\d+)_\d+")
_RE_MIMII = re.compile(r"\d+")

_ACCEPTED_PATTERNS = (
    "<machine>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav (DCASE 2020)",
    "<machine>/test/id_XX_NNNNNNNN.wav (DCASE 2020 evaluation)",
    "<machine>/{train,source_test,target_test}/section_XX_{source,target}_"
    "{train,test}_{normal,anomaly}_NNNN[_<attributes>].wav (DCASE 2021)",
    "<machine>/test/section_XX_{source,target}_test_NNNN.wav (DCASE 2021 evaluation)",
    "<machine>/{train,test}/section_XX_{source,target}_{train,test}_"
    "{normal,anomaly}_NNNN_<key>_<value>[_<key>_<value>...].wav (DCASE 2022+)",
    "<machine>/test/section_XX_NNNN.wav (DCASE 2022+ evaluation)",
    "<machine>/{normal,abnormal}/NNNNNNNN.wav (MIMII)",
    "(.flac instead of .wav is accepted as well)",
)


def _accepted_patterns():
    return "accepted patterns:\n  " + "\n  ".join(_ACCEPTED_PATTERNS)


def _parse_attributes(suffix):
    """Parse the ``<key>_<value>_...`` suffix of a DCASE 2021+ file name.

    Tokens are paired from the left as ``key, value``. A trailing unpaired token
    (odd number of tokens, as in some DCASE 2021 names such as
    ``strength_1_ambient``) becomes a key with the empty value ``""``. DCASE 2024's
    ``noAttribute`` and a missing suffix give ``{}``.
    """
    if suffix is None or suffix == "noAttribute":
        return {}
    tokens = suffix.split("_")
    attributes = {}
    for i in range(0, len(tokens), 2):
        value = tokens[i + 1] if i + 1 < len(tokens) else ""
        attributes[tokens[i]] = value
    return attributes


def _is_key_value_suffix(suffix):
    """Whether an attribute suffix reads as DCASE 2022+ ``key_value`` pairs."""
    if suffix == "noAttribute":
        return True
    tokens = suffix.split("_")
    return len(tokens) % 2 == 0 and all(tokens)


def _parse(path):
    """Parse one path; return ``(info, naming_is_certain)``.

    ``naming_is_certain`` is False only for labelled ``section_*`` names whose
    folder and suffix do not tell DCASE 2021 from DCASE 2022+ (training files);
    :func:`load_dcase` then takes the scheme of the other files of the machine.
    """
    path = Path(path)
    if path.suffix.lower() not in _AUDIO_SUFFIXES:
        raise ValueError(
            f"{str(path)!r} is not an audio file: only .wav and .flac files are "
            "accepted."
        )
    stem = path.stem
    folder = path.parent.name
    machine_type = path.parent.parent.name or _UNKNOWN
    folder_split, folder_domain = _SPLIT_FOLDERS.get(folder, (None, None))

    info = {
        "machine_type": machine_type,
        "split": folder_split or _UNKNOWN,
        "section": _UNKNOWN,
        "domain": folder_domain or _UNKNOWN,
        "target": -1,
        "label": _UNKNOWN,
        "attributes": {},
        "naming": None,
    }
    certain = True
    if m := _RE_2020.fullmatch(stem):
        target = _TARGETS[m["label"]]
        info.update(section=m["section"], target=target, naming="dcase2020")
    elif m := _RE_2020_EVAL.fullmatch(stem):
        info.update(section=m["section"], naming="dcase2020")
    elif m := _RE_SECTION.fullmatch(stem):
        attrs = m["attrs"]
        if folder in ("source_test", "target_test"):
            naming = "dcase2021"
        elif folder == "test" or attrs == "noAttribute":
            # Labelled 2021 test clips live in {source,target}_test/ only.
            naming = "dcase2022"
        else:
            certain = False
            is_kv = attrs is not None and _is_key_value_suffix(attrs)
            naming = "dcase2022" if is_kv else "dcase2021"
        info.update(
            section=m["section"],
            domain=m["domain"],
            split=m["split"],
            target=_TARGETS[m["label"]],
            attributes=_parse_attributes(attrs),
            naming=naming,
        )
    elif m := _RE_2021_EVAL.fullmatch(stem):
        info.update(
            section=m["section"], domain=m["domain"], split="test", naming="dcase2021"
        )
    elif m := _RE_2022_EVAL.fullmatch(stem):
        info.update(section=m["section"], naming="dcase2022")
    elif folder in _LABEL_FOLDERS and _RE_MIMII.fullmatch(stem):
        info.update(target=_LABEL_FOLDERS[folder], naming="mimii")
    else:
        raise ValueError(
            f"the file name {str(path)!r} matches no known naming scheme; "
            + _accepted_patterns()
        )

    if folder_split is not None and info["split"] != folder_split:
        raise ValueError(
            f"the file name {str(path)!r} says split {info['split']!r} but it lies "
            f"in the folder {folder!r}."
        )
    if folder_domain is not None and info["domain"] != folder_domain:
        raise ValueError(
            f"the file name {str(path)!r} says domain {info['domain']!r} but it "
            f"lies in the folder {folder!r}."
        )
    info["label"] = _LABELS[info["target"]]
    return info, certain


def _parse_filename(path):
    """Parse the metadata that a DCASE or MIMII file path carries.

    Parameters
    ----------
    path : str or path-like
        Path of an audio file, laid out as ``<machine>/<folder>/<file>``: the
        machine type is the name of the grandparent folder and ``<folder>`` is a
        split folder (``train``, ``test``, ``source_test``, ``target_test``) or a
        MIMII label folder (``normal``, ``abnormal``). Only the path is read.

    Returns
    -------
    info : dict
        Keys ``machine_type``, ``split``, ``section``, ``domain``, ``target``
        (1 anomalous, 0 normal, -1 unknown), ``label`` (``"anomaly"``,
        ``"normal"`` or ``"unknown"``), ``attributes`` (dict of str) and
        ``naming`` (``"dcase2020"``, ``"dcase2021"``, ``"dcase2022"`` or
        ``"mimii"``). String fields the path does not give are ``"unknown"``.

    Raises
    ------
    ValueError
        If the path is not a ``.wav``/``.flac`` file, matches no naming scheme,
        or its name contradicts its split folder.
    """
    return _parse(path)[0]


def _as_filter(name, value):
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise ValueError(f"{name} must be None, a str or a non-empty list of str.")
    for v in values:
        if not isinstance(v, str):
            raise TypeError(
                f"{name} must be None, a str or a list of str; got an element "
                f"{v!r} of type {type(v).__name__}."
            )
    return list(dict.fromkeys(values))


def _find_audio_files(root):
    """Return ``[(machine_type, relative_parts), ...]`` for every audio file."""
    children = [p for p in root.iterdir() if p.is_dir()]
    single_machine = any(p.name in _KNOWN_SUBFOLDERS for p in children)
    depth = 2 if single_machine else 3
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(_AUDIO_SUFFIXES):
                continue
            rel = Path(dirpath, name).relative_to(root).parts
            if len(rel) != depth:
                layout = (
                    "<root>/<folder>/<file> (root is a machine folder)"
                    if single_machine
                    else "<root>/<machine>/<folder>/<file>"
                )
                raise ValueError(
                    f"the audio file {os.path.join(dirpath, name)!r} is not where "
                    f"the layout expects it: {layout}. " + _accepted_patterns()
                )
            found.append(rel)
    return found, single_machine


#: Official ground-truth file names: ``ground_truth_<machine>_section_XX_test.csv``.
_GROUND_TRUTH_NAME = re.compile(r"ground_truth_(?P<machine>.+?)_(?:section|id)_.*\.csv")


def _ground_truth_files(root, ground_truth, single_machine):
    """Return the ground-truth CSV files to read, as ``[(path, machine)]``.

    A file's machine type comes from its name (``ground_truth_<machine>_...``),
    else from the machine folder it lies in (``"auto"``, or a single-machine
    root); a file that names none for a tree of several machine types is
    refused (evaluation clip names repeat across machine types).
    """
    pattern = "ground_truth_*.csv"
    if isinstance(ground_truth, str) and ground_truth == "auto":
        if single_machine:
            folders = [(root, root.resolve().name)]
        else:
            folders = [
                (p, p.name)
                for p in sorted(root.iterdir())
                if p.is_dir() and not p.name.startswith(".")
            ]
        found = [(f, m) for folder, m in folders for f in sorted(folder.glob(pattern))]
    else:
        path = Path(ground_truth)
        if path.is_dir():
            paths = sorted(path.glob(pattern))
            if not paths:
                raise ValueError(f"no {pattern} file in {os.fspath(path)!r}")
        elif path.is_file():
            paths = [path]
        else:
            raise FileNotFoundError(
                f"ground_truth {os.fspath(ground_truth)!r} is neither a CSV file nor "
                "a folder"
            )
        machine = root.resolve().name if single_machine else None
        found = [(p, machine) for p in paths]
    out = []
    for p, machine in found:
        m = _GROUND_TRUTH_NAME.fullmatch(p.name)
        if m is not None:
            machine = m["machine"]
        elif machine is None:
            raise ValueError(
                f"the ground-truth file {os.fspath(p)!r} names no machine type "
                "(ground_truth_<machine>_section_XX_test.csv) and the tree holds "
                "several: rename it or put it in its machine folder"
            )
        out.append((p, machine))
    return out


def _read_ground_truth(path):
    """``{file name: 0/1}`` from a headerless ``file,label`` CSV."""
    labels = {}
    with open(path, newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or row[1].strip() not in ("0", "1"):
                raise ValueError(
                    f"{os.fspath(path)!r} line {lineno}: expected a 'file,label' row "
                    f"with label 0 or 1, got {','.join(row)!r}"
                )
            labels[Path(row[0].strip()).name] = int(row[1])
    return labels


def _apply_ground_truth(records, files):
    """Give clips without a label in their name the label of the CSV files."""
    for path, machine in files:
        labels = _read_ground_truth(path)
        for r in records:
            if machine is not None and r["machine_type"] != machine:
                continue
            label = labels.get(Path(r["filename"]).name)
            if label is None:
                continue
            if r["target"] == -1:
                r["target"], r["label"] = label, _LABELS[label]
            elif r["target"] != label:
                raise ValueError(
                    f"{os.fspath(path)!r} labels {r['filename']!r} {label}, but its "
                    f"name says {r['target']}"
                )


def _describe(root, filters, machine_types, splits, target, namings):
    lines = [
        "DCASE / MIMII machine-sound file list",
        "=====================================",
        "",
        f"root: {root}",
        f"files: {len(target)}",
        "naming schemes: " + ", ".join(sorted(set(namings))),
        "filters: " + ", ".join(f"{k}={v!r}" for k, v in filters.items()),
        "",
        "Labels: target 1 = anomalous, 0 = normal, -1 = unknown (evaluation-set",
        "names carry no label). Fields the names do not give are 'unknown'.",
        "",
    ]
    counts = Counter(zip(machine_types, splits, target))
    rows = sorted({(m, s) for m, s, _ in counts})
    width = max(12, *(len(m) for m, _ in rows))
    header = f"{'machine_type':<{width}}  {'split':<7}  normal  anomaly  unknown"
    lines += [header, "-" * len(header)]
    for m, s in rows:
        n0, n1, nu = (counts[m, s, t] for t in (0, 1, -1))
        lines.append(f"{m:<{width}}  {s:<7}  {n0:>6}  {n1:>7}  {nu:>7}")
    return "\n".join(lines) + "\n"


@validate_params(
    {
        "root": [str, os.PathLike],
        "machine_type": [None, str, list],
        "split": [None, str, list],
        "section": [None, str, list],
        "domain": [None, str, list],
        "ground_truth": [None, str, os.PathLike],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_dcase(
    root,
    *,
    machine_type=None,
    split=None,
    section=None,
    domain=None,
    ground_truth="auto",
    return_X_y=False,
):
    """List the audio files of a DCASE Task 2 or MIMII tree with their metadata.

    Only folder and file names are parsed; the audio is not read (chain
    ``sklearn_asd.features.AudioLoader`` in a pipeline for that). Each file is
    parsed on its own, so the DCASE 2020, 2021, 2022+ (development and
    evaluation) and MIMII naming schemes may be mixed in one tree. Only ``.wav``
    and ``.flac`` files count; other files (README, csv, ...) and files or
    folders whose name starts with ``"."`` are ignored.

    Parameters
    ----------
    root : str or path-like
        Either a dataset root holding one folder per machine type
        (``<root>/<machine>/<folder>/<file>``), or a single machine folder
        (``<root>/<folder>/<file>``, machine type = name of ``root``). ``root`` is
        taken as a machine folder when one of its sub-folders is named ``train``,
        ``test``, ``source_test``, ``target_test``, ``normal`` or ``abnormal``.

    machine_type : str or list of str, default=None
        Keep only these machine types (folder names, e.g. ``"fan"``). None keeps
        all.

    split : str or list of str, default=None
        Keep only these splits: ``"train"``, ``"test"`` or ``"unknown"``.

    section : str or list of str, default=None
        Keep only these sections, written as in the file names (``"00"``), or
        ``"unknown"`` for MIMII files.

    domain : str or list of str, default=None
        Keep only these domains: ``"source"``, ``"target"`` or ``"unknown"``.

    ground_truth : "auto", str, path-like or None, default="auto"
        Labels of evaluation clips, whose names carry none: the official
        ground-truth CSV files (headerless ``file,label`` rows, 1 = anomalous,
        as the DCASE evaluators read them). ``"auto"`` reads the side-car files
        ``<machine>/ground_truth_*.csv`` in each machine folder (where
        :func:`~sklearn_asd.datasets.fetch_dcase` stores them) when there are
        any; a path names one CSV file or a folder of ``ground_truth_*.csv``
        files; ``None`` reads none. A file named
        ``ground_truth_<machine>_...csv`` labels that machine type's clips; the
        rows are matched by file name. Labels a clip's name already carries are
        kept, and a ground-truth row that contradicts one raises a
        ``ValueError``.

    return_X_y : bool, default=False
        If True, return ``(filenames, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes, one entry per
        file, sorted by machine type, split and path.

        filenames : ndarray of str of shape (n_files,)
            Paths of the audio files (``root`` joined with the relative path).
        target : ndarray of int of shape (n_files,)
            1 = anomalous, 0 = normal, -1 = unknown: evaluation-set names carry
            no label, and the loader never guesses one (``ground_truth`` gives
            them theirs).
        sections : ndarray of str of shape (n_files,)
            Section (DCASE 2021+) or machine id (DCASE 2020) as written in the
            name, e.g. ``"00"``; ``"unknown"`` for MIMII files.
        domains : ndarray of str of shape (n_files,)
            ``"source"`` or ``"target"`` where the name or folder says so,
            otherwise ``"unknown"`` (DCASE 2020, MIMII, 2022+ evaluation sets).
        machine_types : ndarray of str of shape (n_files,)
            Name of the machine folder.
        splits : ndarray of str of shape (n_files,)
            ``"train"`` or ``"test"`` (the 2021 ``source_test`` and
            ``target_test`` folders are ``"test"``); ``"unknown"`` for MIMII
            files, whose layout has no split.
        attributes : ndarray of dict of shape (n_files,)
            Attributes parsed from the DCASE 2021+ name suffix, e.g.
            ``car_A2_spd_6_mic_2`` gives ``{"car": "A2", "spd": "6", "mic": "2"}``.
            Tokens are paired from the left; a trailing unpaired token gets the
            value ``""``. Names without attributes (and ``noAttribute``) give
            ``{}``.
        naming : ndarray of str of shape (n_files,)
            Naming scheme of each file: ``"dcase2020"``, ``"dcase2021"``,
            ``"dcase2022"`` (2022 and later) or ``"mimii"``.
        DESCR : str
            Root, filters, naming schemes and counts per machine type, split and
            label.

    (filenames, target) : tuple of ndarray
        Returned instead of the Bunch when ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not an existing folder.
    ValueError
        If no audio file is found, a file name matches no naming scheme or
        contradicts its folder, a filter value does not exist in the tree, or the
        filters together leave no file.

    Notes
    -----
    The file name decides the scheme:

    - ``{normal,anomaly}_id_XX_N`` and ``id_XX_N``: DCASE 2020 (``id`` is the
      section; ``id_XX_N`` is the unlabelled evaluation form).
    - ``section_XX_{source,target}_test_N``: DCASE 2021 evaluation set.
    - ``section_XX_N``: DCASE 2022+ evaluation set (domain unknown).
    - ``section_XX_<domain>_<split>_<label>_N[_<attributes>]``: DCASE 2021 when
      the file lies in ``source_test``/``target_test``, DCASE 2022+ when it
      lies in ``test`` (2021 test clips were never there) or the suffix is
      ``noAttribute``. A training file does not say which: it takes the scheme
      of the other files of its machine folder when those agree, and otherwise
      is DCASE 2022+ if its suffix is an even number of ``key_value`` tokens and
      DCASE 2021 if not.
    - ``N`` in a ``normal``/``abnormal`` folder: MIMII (label from the folder).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_asd.datasets import load_dcase
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for name in ["train/section_00_source_train_normal_0000_m-n_W.wav",
    ...                  "test/section_00_target_test_anomaly_0000_m-n_X.wav",
    ...                  "test/section_00_0001.wav"]:
    ...         path = Path(root, "fan", name)
    ...         path.parent.mkdir(parents=True, exist_ok=True)
    ...         path.touch()
    ...     data = load_dcase(root)
    >>> data.target
    array([-1,  1,  0])
    >>> data.splits
    array(['test', 'test', 'train'], dtype='<U5')
    >>> data.domains
    array(['unknown', 'target', 'source'], dtype='<U7')
    >>> data.attributes[1]
    {'m-n': 'X'}
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise FileNotFoundError(
            f"the dataset root {os.fspath(root)!r} does not exist or is not a folder."
        )
    filters = {
        "machine_type": _as_filter("machine_type", machine_type),
        "split": _as_filter("split", split),
        "section": _as_filter("section", section),
        "domain": _as_filter("domain", domain),
    }

    rel_paths, single_machine = _find_audio_files(root_path)
    if not rel_paths:
        raise ValueError(
            f"no .wav or .flac file found under {os.fspath(root)!r}; "
            + _accepted_patterns()
        )
    machine_name = root_path.resolve().name
    records = []
    for rel in rel_paths:
        parse_parts = (machine_name, *rel) if single_machine else rel
        info, certain = _parse(Path(*parse_parts))
        info["filename"] = os.path.join(root, *rel)
        info["certain"] = certain
        records.append(info)

    # A labelled training file does not say whether it follows DCASE 2021 or
    # 2022+: give it the scheme of the other section-style files of its machine.
    by_machine = {}
    for r in records:
        if r["certain"] and r["naming"] in ("dcase2021", "dcase2022"):
            by_machine.setdefault(r["machine_type"], set()).add(r["naming"])
    for r in records:
        namings = by_machine.get(r["machine_type"], set())
        if not r["certain"] and len(namings) == 1:
            r["naming"] = next(iter(namings))

    if ground_truth is not None:
        _apply_ground_truth(
            records, _ground_truth_files(root_path, ground_truth, single_machine)
        )

    records.sort(key=lambda r: (r["machine_type"], r["split"], r["filename"]))

    # Check each filter value against the files of the selected machine types.
    selected = records
    for key, field in [
        ("machine_type", "machine_type"),
        ("split", "split"),
        ("section", "section"),
        ("domain", "domain"),
    ]:
        wanted = filters[key]
        if wanted is None:
            continue
        pool = records
        context = f"in {os.fspath(root)!r}"
        if key != "machine_type" and filters["machine_type"] is not None:
            machines = filters["machine_type"]
            pool = [r for r in records if r["machine_type"] in machines]
            context = "for " + (machines[0] if len(machines) == 1 else str(machines))
        available = sorted({r[field] for r in pool})
        for value in wanted:
            if value not in available:
                raise ValueError(
                    f"unknown {key} {value!r} {context}; available: {available}"
                )
        selected = [r for r in selected if r[field] in wanted]
    if not selected:
        given = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
        raise ValueError(
            f"no file under {os.fspath(root)!r} matches all of {given}; each value "
            "exists, but not together."
        )

    filenames = np.array([r["filename"] for r in selected], dtype=str)
    target = np.array([r["target"] for r in selected], dtype=int)
    if return_X_y:
        return filenames, target

    def column(field):
        return np.array([r[field] for r in selected], dtype=str)

    attributes = np.empty(len(selected), dtype=object)
    attributes[:] = [dict(r["attributes"]) for r in selected]
    machine_types, splits = column("machine_type"), column("split")
    naming = column("naming")
    return Bunch(
        filenames=filenames,
        target=target,
        sections=column("section"),
        domains=column("domain"),
        machine_types=machine_types,
        splits=splits,
        attributes=attributes,
        naming=naming,
        DESCR=_describe(
            os.fspath(root), filters, machine_types, splits, target, naming
        ),
    )
