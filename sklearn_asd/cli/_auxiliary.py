# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``train --auxiliary``: the normal clips of other machines as extra classes."""

import collections
import os
import warnings

from sklearn_asd.cli._common import (
    _SPLIT_FOLDERS,
    _audio_files_in,
    _load_tree,
    _name_infos,
)

__all__ = []

#: Prefix of the auxiliary class names (``aux:<folder>/<machine>/<section>``).
_AUX_PREFIX = "aux:"


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
