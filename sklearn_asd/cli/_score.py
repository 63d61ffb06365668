# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd score``: DCASE result files (or one ranked CSV) of a saved model."""

import collections
import os
import warnings

from sklearn_asd.cli._common import (
    _add_machine_type,
    _audio_files_in,
    _choose_machine_types,
    _class_labels,
    _load_tree,
    _name_infos,
    _positive_int,
    _Progress,
    _uses_sections,
)
from sklearn_asd.utils._audio import _AUDIO_SUFFIXES
from sklearn_asd.utils._csv import _write_csv

__all__ = []

#: What an interrupted ``score`` leaves behind.
INTERRUPTED = "; result files written so far are complete, the others were not written"
#: The results of one file or a plain folder of audio files.
_PLAIN_RESULTS = "anomaly_scores.csv"


def add_parser(subparsers):
    """Add the ``score`` sub-command to ``subparsers``; return its parser."""
    from sklearn_asd.submission import YEARS

    parser = subparsers.add_parser(
        "score",
        help="write DCASE anomaly-score and decision files with a saved model",
        description=(
            "Score the clips of one split of DATA_ROOT with MODEL in chunks and write "
            "the DCASE anomaly_score_*.csv and decision_result_*.csv files to DIR "
            "in the tree's (or --year's) naming. DATA_ROOT may also be one audio "
            f"file or a folder of audio files: then DIR/{_PLAIN_RESULTS} "
            "(path,score,decision,rank; most anomalous first) is written."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model file from 'train'")
    parser.add_argument(
        "data_root", metavar="DATA_ROOT", help="dataset root, audio folder or file"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (created)"
    )
    parser.add_argument("--split", default="test", help="split to score (test)")
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=256,
        metavar="N",
        help="clips read and scored at once (bounds memory; default 256)",
    )
    _add_machine_type(
        parser,
        "machine type of DATA_ROOT to score (repeatable; default: the model's "
        "machine types)",
    )
    parser.add_argument(
        "--year",
        type=int,
        choices=YEARS,
        help="name the result files after this year (default: the files' naming)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help=(
            "score each chunk in N worker processes (-1: one per core; each gets "
            "cores // N threads; default: in this process)"
        ),
    )
    parser.add_argument(
        "--section",
        metavar="NAME",
        help=(
            "for a file or a plain folder: score every clip against this class of "
            "the model (default: the sections in the file names, else each clip's "
            "best-matching class)"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")

    return parser


def _decisions(detector, scores):
    """1 = anomalous, 0 = normal, exactly as the detector's ``predict`` decides."""
    from sklearn_asd.utils._response import _anomaly_decisions, _anomaly_threshold

    if _anomaly_threshold(detector) is None:
        raise ValueError(
            f"the model's last step {type(detector).__name__} has no decision "
            "threshold (no offset_ or decision_function): decision files cannot "
            "be written"
        )
    return _anomaly_decisions(detector, scores)


def _known_classes(pipeline, info):
    """Classes a saved model scores: never auxiliary ones; None without sections."""
    detector = pipeline[-1]
    if not _uses_sections(detector):
        return None
    classes = getattr(detector, "scored_classes_", None)
    if classes is None:
        classes = getattr(detector, "classes_", None)
    if classes is not None:
        return list(classes)
    return info.get("sections") or None


def _auxiliary_classes(pipeline, info):
    """Auxiliary classes of a saved model (they train, but are never scored)."""
    classes = getattr(pipeline[-1], "auxiliary_classes_", None)
    if classes is not None:
        return list(classes)
    return list((info.get("metadata") or {}).get("auxiliary_classes") or [])


def _check_classes(labels, known, describe, auxiliary=()):
    """Raise a ValueError naming the first class the model was not trained on."""
    known_set = set(known)
    auxiliary = set(auxiliary)
    for i, label in enumerate(labels):
        if label not in known_set:
            if label in auxiliary:
                raise ValueError(
                    f"section {label!r} ({describe(i)}) is an auxiliary class of the "
                    "model: its clips only trained the classifier and it is never "
                    f"scored; score against one of {sorted(map(str, known))}"
                )
            raise ValueError(
                f"unknown section {label!r} ({describe(i)}): the model was trained on "
                f"{sorted(map(str, known))}"
            )


def _score_in_chunks(pipeline, paths, sections, chunk_size, progress, n_jobs=None):
    """Score ``chunk_size`` files at a time (split over ``n_jobs`` processes)."""
    import numpy as np

    from sklearn_asd.scoring import score_files

    workers = 1 if n_jobs is None else n_jobs if n_jobs > 0 else os.cpu_count() or 1
    per_job = max(1, -(-chunk_size // workers))  # one piece of each chunk per job
    scores = np.empty(len(paths), dtype=np.float64)
    for start in range(0, len(paths), chunk_size):
        stop = min(start + chunk_size, len(paths))
        part = None if sections is None else sections[start:stop]
        scores[start:stop] = score_files(
            pipeline,
            paths[start:stop],
            sections=part,
            chunk_size=per_job,
            n_jobs=n_jobs,
        )
        progress(f"  scored {stop}/{len(paths)} clips")
    return scores


def _plain_sections(paths, scheme, known, auxiliary=()):
    """Sections from the file names of a plain folder, if every name gives one."""
    infos = _name_infos(paths) if scheme == "section" else None
    if infos is None:
        return None
    sections = [i["section"] for i in infos]
    _check_classes(sections, known, lambda i: f"file {paths[i]!r}", auxiliary)
    return sections


def run(args, out, err):
    """Run ``score``; return the exit status."""
    import numpy as np

    from sklearn_asd.persistence import load_model
    from sklearn_asd.submission import clip_name, result_files, write_result_file

    progress = _Progress(args.quiet, err)
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be a positive number of processes, or -1")
    target = args.data_root
    if not os.path.exists(target):
        raise FileNotFoundError(f"DATA_ROOT {target!r} does not exist")
    pipeline, info = load_model(args.model, return_info=True)
    if not getattr(pipeline, "steps", None):
        raise ValueError(
            f"{args.model!r} holds a {type(pipeline).__name__}, not a pipeline that "
            "reads audio files"
        )
    meta = info.get("metadata") or {}
    scheme = meta.get("class_scheme")
    known = _known_classes(pipeline, info)
    auxiliary = _auxiliary_classes(pipeline, info)
    detector = pipeline[-1]
    if known is None:  # the detector ignores sections (e.g. AutoencoderBaseline)
        scheme = None

    plain = os.path.isfile(target) or bool(_audio_files_in(target))
    if plain and (args.machine_types or args.year is not None or args.split != "test"):
        raise ValueError(
            f"{target!r} is one file or a plain folder of audio files: "
            "--machine-type, --year and --split apply to DCASE/MIMII trees only"
        )
    if not plain and args.section is not None:
        raise ValueError("--section applies to one file or a plain folder only")
    if plain:
        paths = [target] if os.path.isfile(target) else _audio_files_in(target)
        if not paths[0].lower().endswith(_AUDIO_SUFFIXES):
            raise ValueError(f"{target!r} is not a .wav or .flac file")
        if args.section is not None:
            if not known:
                raise ValueError(
                    "--section needs a model trained with sections (its last step "
                    f"{type(detector).__name__} scores clips without them)"
                )
            _check_classes([args.section], known, lambda i: "--section", auxiliary)
            sections = [args.section] * len(paths)
        elif scheme:
            sections = _plain_sections(paths, scheme, known, auxiliary)
        else:
            sections = None
        if sections is None and known and len(known) > 1:
            warnings.warn(
                f"the file names give no section: each clip is scored against its "
                f"best-matching class of {len(known)} ({', '.join(map(str, known))});"
                " pass --section NAME to score against one",
                UserWarning,
                stacklevel=1,
            )
        how = "their sections" if sections else "the best-matching class"
        progress(f"Scoring {len(paths)} clip(s) against {how} ...")
        secs = None if sections is None else np.asarray(sections, dtype=object)
        scores = _score_in_chunks(
            pipeline,
            np.asarray(paths, dtype=object),
            secs,
            args.chunk_size,
            progress,
            args.n_jobs,
        )
        decisions = _decisions(detector, scores)
        os.makedirs(args.out, exist_ok=True)
        result = os.path.join(args.out, _PLAIN_RESULTS)
        # ranked: most anomalous first (ties keep the file order)
        order = np.argsort(-scores, kind="stable")
        _write_csv(
            result,
            (
                (paths[i], float(scores[i]), int(decisions[i]), rank)
                for rank, i in enumerate(order, start=1)
            ),
            header=("path", "score", "decision", "rank"),
        )
        if not args.quiet:
            print(f"Wrote {result} ({len(paths)} clip(s))", file=out)
        return 0

    data = _load_tree(target)
    requested = args.machine_types
    if not requested:
        trained = info.get("machine_types") or []
        present = sorted(set(trained) & set(data.machine_types.tolist()))
        available = sorted(set(data.machine_types.tolist()))
        if not present:
            raise ValueError(
                f"the model was trained on machine type(s) {trained}, but "
                f"{target!r} holds {available}: pass --machine-type to score "
                "other machine types with it"
            )
        requested = present
    machines = _choose_machine_types(data, requested, target, "score")
    in_machines = np.isin(data.machine_types, machines)
    mask = in_machines & (data.splits == args.split)
    if not mask.any():
        splits = sorted(set(data.splits[in_machines].tolist()))
        raise ValueError(
            f"no {args.split!r} split for machine type(s) {machines} in "
            f"{target!r}; splits found: {splits}"
        )
    groups = result_files(data, indices=np.flatnonzero(mask), naming=args.year)
    decision_files = result_files(
        data, indices=np.flatnonzero(mask), naming=args.year, kind="decision_result"
    )

    def names_of(rows):
        return [clip_name(data.filenames[i], data.naming[i]) for i in rows]

    for name, rows in groups.items():
        counts = collections.Counter(names_of(rows))
        twice = sorted(n for n, c in counts.items() if c > 1)
        if twice:
            raise ValueError(
                f"{name} would list the file name {twice[0]!r} more than once "
                "(several clips of one result file share a name)"
            )
    index = np.flatnonzero(mask)
    paths = data.filenames[index]
    sections = None
    if scheme is not None:
        labels = _class_labels(data.machine_types[index], data.sections[index], scheme)
        _check_classes(
            labels,
            known,
            lambda i: (
                f"machine type {str(data.machine_types[index[i]])!r}, file "
                f"{str(data.filenames[index[i]])!r}"
            ),
            auxiliary,
        )
        sections = np.asarray(labels, dtype=object)
    progress(
        f"Scoring {len(paths)} clip(s) of {', '.join(machines)} ({args.split} split) "
        f"in chunks of {args.chunk_size} ..."
    )
    scores = np.empty(data.filenames.shape[0], dtype=np.float64)
    scores[index] = _score_in_chunks(
        pipeline, paths.astype(object), sections, args.chunk_size, progress, args.n_jobs
    )
    decisions = np.zeros(data.filenames.shape[0], dtype=int)
    decisions[index] = _decisions(detector, scores[index])
    os.makedirs(args.out, exist_ok=True)
    written = []
    for (name, rows), decision_name in zip(groups.items(), decision_files):
        names = names_of(rows)
        write_result_file(os.path.join(args.out, name), names, scores[rows])
        write_result_file(os.path.join(args.out, decision_name), names, decisions[rows])
        written += [name, decision_name]
    if not args.quiet:
        print(
            f"Wrote {len(written)} files to {args.out} ({len(paths)} clip(s)): "
            + ", ".join(sorted(written)),
            file=out,
        )
    return 0
