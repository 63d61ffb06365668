# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd train``: fit a pipeline on a tree's normal clips and save it."""

import contextlib
import os

from sklearn_asd.cli._auxiliary import _auxiliary_set
from sklearn_asd.cli._common import (
    _add_machine_type,
    _audio_files_in,
    _check_output_file,
    _choose_machine_types,
    _class_labels,
    _clip_seconds,
    _load_tree,
    _name_infos,
    _parse_params,
    _Progress,
    _uses_sections,
)

__all__ = []

#: What an interrupted ``train`` leaves behind.
INTERRUPTED = "; no model was saved"
#: A --param value copied to other steps unless they are given explicitly.
_LINKED_PARAMS = {
    "mel__n_mels": ("mf__n_mels", "stats__n_mels", "det__n_mels"),
    "load__sr": ("mel__sr",),
}
#: ``train --detector`` choices; the classifiers take auxiliary classes.
_DETECTORS = ("contrastive", "mobilenetv2", "ae", "knn", "iforest")
_AUXILIARY_DETECTORS = ("contrastive", "mobilenetv2")
# train --auxiliary on a CPU: epochs and training-patch hop (see run)
_AUXILIARY_CPU_DEFAULTS = {"det__max_epochs": 10, "det__patch_hop": 16}


def add_parser(subparsers):
    """Add the ``train`` sub-command to ``subparsers``; return its parser."""
    from sklearn_asd.submission import YEARS

    parser = subparsers.add_parser(
        "train",
        help="train a detector on a DCASE/MIMII tree or a folder of recordings",
        description=(
            "Fit a pipeline on the normal clips of one split of DATA_ROOT (sections "
            "from the file names are the classes) and save it to MODEL. --detector "
            "chooses it: contrastive (default for DCASE/MIMII trees and with "
            "--auxiliary): load (AudioLoader) -> mel (LogMelSpectrogram) -> mf "
            "(MedianFilter) -> det (ContrastiveASDEstimator); mobilenetv2: the same "
            "with det__branches='cnn'; ae: load -> mel -> det "
            "(AutoencoderBaseline); knn (default for a plain folder of recordings) "
            "and iforest: load -> mel -> stats (BandStatistics of bands, MFCCs and "
            "spectral descriptors) -> scale (StandardScaler) -> det (KNNDetector or "
            "IsolationForest). Unless given, load__duration is set to the length "
            "of the first training clip (other clips, auxiliary ones included, are "
            "padded or cropped to it; clips at other sample rates are resampled to "
            "load__sr), and mel__n_mels / load__sr are copied to mf__n_mels, "
            "stats__n_mels, det__n_mels / mel__sr (and stats__n_mfcc is lowered to "
            "mel__n_mels when that is smaller)."
        ),
    )
    parser.add_argument("data_root", metavar="DATA_ROOT", help="dataset root folder")
    parser.add_argument(
        "--out", required=True, metavar="MODEL", help="model file to write (.joblib)"
    )
    _add_machine_type(
        parser,
        "machine type to train on (repeat for several, or 'all'); required when "
        "DATA_ROOT holds several machine types. Several machine types give one "
        "model whose classes are machine type x section",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "set a pipeline parameter by its get_params() name, e.g. "
            "det__max_epochs=5 or mel__n_mels=64 (VALUE is a Python literal, "
            "else a string); repeatable"
        ),
    )
    parser.add_argument(
        "--split",
        default="train",
        help="split whose normal clips are used (default: train)",
    )
    parser.add_argument(
        "--year",
        type=int,
        choices=YEARS,
        help="require DATA_ROOT to follow this year's DCASE naming",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the detector (det__random_state, where the detector has "
        "one; default 0: the same command trains the same model on the same "
        "machine)",
    )
    parser.add_argument(
        "--detector",
        choices=_DETECTORS,
        help=(
            "detector of the pipeline (default: knn for a plain folder of "
            "recordings, contrastive for a DCASE/MIMII tree or with --auxiliary)"
        ),
    )
    parser.add_argument(
        "--auxiliary",
        action="append",
        default=[],
        metavar="DIR",
        help=(
            "normal clips of OTHER machines (a plain folder, a DCASE tree of any "
            "year or a MIMII tree; every split) as extra classes of the classifier, "
            "never scored and never in the threshold: one class "
            "aux:<folder>/<machine>/<section> per machine type and section; "
            "repeatable; needs --detector contrastive or mobilenetv2. On a CPU "
            "such runs default to det__max_epochs=10 and det__patch_hop=16 "
            "(about 4x faster than the estimator's 20 epochs x hop 8; --param "
            "overrides them)"
        ),
    )
    parser.add_argument(
        "--auxiliary-machine-types",
        action="append",
        dest="auxiliary_machine_types",
        default=[],
        metavar="NAME",
        help=(
            "use these machine types of the DATA_ROOT tree (never the trained "
            "ones; 'all': all the others) as auxiliary classes, like --auxiliary; "
            "repeatable"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")

    return parser


def _train_pipeline(detector):
    """Build the (unfitted) pipeline that ``train --detector NAME`` fits.

    ``contrastive`` and ``mobilenetv2``: load -> mel -> mf -> det; ``ae``: load ->
    mel -> det; ``knn`` and ``iforest``: load -> mel -> stats -> scale -> det.
    """
    from sklearn.pipeline import Pipeline

    from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter

    steps = [("load", AudioLoader()), ("mel", LogMelSpectrogram())]
    if detector in ("contrastive", "mobilenetv2"):
        from sklearn_asd.estimator import ContrastiveASDEstimator

        branches = "cnn" if detector == "mobilenetv2" else "dual"
        steps += [
            ("mf", MedianFilter()),
            ("det", ContrastiveASDEstimator(branches=branches)),
        ]
    elif detector == "ae":
        from sklearn_asd.estimator import AutoencoderBaseline

        steps += [("det", AutoencoderBaseline())]
    else:
        from sklearn.preprocessing import StandardScaler

        from sklearn_asd.features import BandStatistics

        if detector == "knn":
            from sklearn_asd._knn import KNNDetector

            det = KNNDetector()
        else:
            from sklearn.ensemble import IsolationForest

            det = IsolationForest()
        steps += [
            ("stats", BandStatistics(features=("bands", "mfcc", "spectral"))),
            ("scale", StandardScaler()),
            ("det", det),
        ]
    return Pipeline(steps)


def _on_cpu(device):
    """Whether a torch device string names the CPU (``"cpu"``, ``"cpu:0"``)."""
    import torch

    return torch.device(device).type == "cpu"


def _configure_pipeline(pipeline, specs):
    """Apply and validate the --param settings; return the explicit names."""
    valid = pipeline.get_params(deep=True)
    steps = [name for name, _ in pipeline.steps]
    given = _parse_params(specs, valid, steps)
    explicit = set(given)
    for source, targets in _LINKED_PARAMS.items():
        if source in given:
            for target in targets:
                if target in valid and target not in given:
                    given[target] = given[source]
    # fewer mel bands than MFCCs (20): as many MFCCs as bands, unless given
    n_bands = given.get("stats__n_mels")
    if "stats__n_mfcc" in valid and "stats__n_mfcc" not in given:
        if isinstance(n_bands, int) and 0 < n_bands < valid["stats__n_mfcc"]:
            given["stats__n_mfcc"] = n_bands
    pipeline.set_params(**given)
    for _, step in pipeline.steps:
        validate = getattr(step, "_validate_params", None)
        if callable(validate):
            validate()  # InvalidParameterError (a ValueError) names the problem
    n_mels = {
        name: pipeline.named_steps[name].n_mels
        for name in steps
        if name != "load" and hasattr(pipeline.named_steps[name], "n_mels")
    }
    if len(set(n_mels.values())) > 1:
        values = ", ".join(f"{k}__n_mels={v}" for k, v in n_mels.items())
        others = [f"{k}__n_mels" for k in n_mels if k != "mel"]
        raise ValueError(
            f"the steps disagree on the number of mel bands ({values}): set "
            f"mel__n_mels alone (it is copied to {' and '.join(others)}) or all "
            f"{len(n_mels)} to one value"
        )
    return explicit


def run(args, out, err):
    """Run ``train``; return the exit status."""
    import numpy as np
    import sklearn

    from sklearn_asd.persistence import save_model

    progress = _Progress(args.quiet, err)
    _check_output_file(args.out, "--out")
    plain = os.path.isdir(args.data_root) and bool(_audio_files_in(args.data_root))
    auxiliary = bool(args.auxiliary or args.auxiliary_machine_types)
    detector = args.detector
    if detector is None:
        detector = "knn" if plain and not auxiliary else "contrastive"
    if auxiliary and detector not in _AUXILIARY_DETECTORS:
        raise ValueError(
            "--auxiliary and --auxiliary-machine-types add classes to a section "
            f"classifier: use --detector contrastive or mobilenetv2, not {detector}"
        )
    pipeline = _train_pipeline(detector)
    explicit = _configure_pipeline(pipeline, args.param)
    valid = pipeline.get_params(deep=True)
    if "det__random_state" in valid and "det__random_state" not in explicit:
        pipeline.set_params(det__random_state=args.random_state)
    if auxiliary and "det__auxiliary_classes" in explicit:
        raise ValueError(
            "--param det__auxiliary_classes is set by --auxiliary and "
            "--auxiliary-machine-types: give one or the other"
        )
    det = pipeline.named_steps["det"]
    sectioned = _uses_sections(det)

    if plain:
        paths, classes, machines, scheme, namings, data = _plain_training_set(args)
    else:
        paths, classes, machines, scheme, namings, data = _tree_training_set(args)
    aux_paths, aux_classes, aux_records = [], [], []
    if auxiliary:
        aux_paths, aux_classes, aux_records = _auxiliary_set(
            args, data, machines, paths, classes
        )
    aux_names = sorted(set(aux_classes))
    if not sectioned:  # the detector ignores sections: one model for all clips
        scheme = None
    n_classes = len(set(classes)) if sectioned else 1
    if detector == "mobilenetv2" and n_classes + len(aux_names) < 2:
        raise ValueError(
            f"--detector mobilenetv2 learns by classifying sections and needs two "
            f"or more classes, but {args.data_root!r} gives one "
            f"({sorted(set(classes))[0]!r}): add other machines' normal clips as "
            "classes with --auxiliary DIR, or use --detector contrastive or knn"
        )
    if aux_names:
        pipeline.set_params(det__auxiliary_classes=aux_names)
        if "det__score_branch" not in explicit and detector == "contrastive":
            pipeline.set_params(det__score_branch="cnn")
        if _on_cpu(det.device):
            # CPU training budget of auxiliary runs, chosen on the shared real
            # clips (benchmarks/real_clips.py): 10 epochs over patches every 16
            # frames train ~4x faster than the estimator's 20 epochs x hop 8
            for name, value in _AUXILIARY_CPU_DEFAULTS.items():
                if name not in explicit:
                    pipeline.set_params(**{name: value})

    if "load__duration" not in explicit:
        duration = _clip_seconds(paths[0], pipeline.named_steps["load"])
        pipeline.set_params(load__duration=duration)
    neural = hasattr(det, "max_epochs")
    show_epochs = progress.enabled and neural and "det__verbose" not in explicit
    if show_epochs:
        det.set_params(verbose=1)
    then = f"{det.max_epochs} epoch(s)" if neural else f"fitting {type(det).__name__}"
    with_aux = (
        f" with {len(aux_paths)} auxiliary clips ({len(aux_names)} auxiliary class(es))"
        if aux_paths
        else ""
    )
    progress(
        f"Training on {len(paths)} normal clips of {', '.join(machines)} "
        f"({n_classes} class(es)){with_aux}, detector {detector}: feature "
        f"extraction, then {then} ..."
    )
    fit_params = {}
    if sectioned:
        fit_params["sections"] = np.asarray(list(classes) + aux_classes, dtype=object)
    # skorch prints its epoch table on stdout: keep stdout for results
    with sklearn.config_context(enable_metadata_routing=True):
        with contextlib.redirect_stdout(err):
            pipeline.fit(list(paths) + aux_paths, **fit_params)
    if show_epochs:  # the epoch table was progress output, not a setting to keep
        det.set_params(verbose=0)
    sections = []  # the classes the model scores (never the auxiliary ones)
    if sectioned:
        known = getattr(det, "scored_classes_", None)
        if known is None:
            known = getattr(det, "classes_", [])
        sections = [c for c in list(known) if c not in set(aux_names)]
    info = save_model(
        pipeline,
        args.out,
        machine_types=machines,
        sections=sections,
        metadata={
            "detector": detector,
            "class_scheme": scheme,
            "naming": namings,
            "split": args.split,
            "n_clips": len(paths),
            "data_root": os.path.abspath(args.data_root),
            "auxiliary_classes": aux_names,
            "auxiliary": aux_records,
            "n_auxiliary_clips": len(aux_paths),
            "params": {
                k: repr(v)
                for k, v in sorted(pipeline.get_params().items())
                if "__" in k and not hasattr(v, "get_params")
            },
        },
    )
    if not args.quiet:
        details = [f"detector {detector}"]
        if hasattr(det, "n_epochs_"):
            details.append(f"{det.n_epochs_} epoch(s)")
        if getattr(det, "score_branch_", None) is not None:
            details.append(f"scored with the {det.score_branch_} branch")
        shown = (
            ", ".join(map(str, info["sections"]))
            if info["sections"]
            else f"none, {detector} ignores sections"
        )
        print(
            f"Trained on {len(paths)} normal clips of {', '.join(machines)} "
            f"(classes: {shown}; {', '.join(details)}){with_aux}; saved {args.out}",
            file=out,
        )
        if aux_names:
            print(f"Auxiliary classes: {', '.join(aux_names)}", file=out)
    return 0


def _plain_training_set(args):
    """List the clips of a plain folder of recordings of one healthy machine."""
    if args.machine_types or args.year is not None or args.split != "train":
        raise ValueError(
            f"{args.data_root!r} is a plain folder of audio files (every clip is "
            "taken as a normal recording of one machine): --machine-type, --year "
            "and --split apply to DCASE/MIMII trees only"
        )
    files = _audio_files_in(args.data_root)
    parsed = _name_infos(files)  # DCASE names (a copied train/ folder): sections
    if parsed:
        keep = [i["target"] != 1 for i in parsed]
        paths = [p for p, k in zip(files, keep) if k]
        classes = [i["section"] for i, k in zip(parsed, keep) if k]
        scheme = "section"
    else:
        paths, classes, scheme = files, ["all"] * len(files), None
    if not paths:
        raise ValueError(f"no normal clip in {args.data_root!r}")
    folder = os.path.normpath(os.path.abspath(args.data_root))
    machine = os.path.basename(folder)
    if scheme is not None:  # a DCASE split folder (.../<machine>/train): its parent
        machine = os.path.basename(os.path.dirname(folder))
    return paths, classes, [machine], scheme, ["plain folder"], None


def _tree_training_set(args):
    """List the normal training clips of a DCASE/MIMII tree and their classes."""
    import numpy as np

    from sklearn_asd.submission import naming_of_year

    data = _load_tree(args.data_root)
    machines = _choose_machine_types(data, args.machine_types, args.data_root, "train")
    in_machines = np.isin(data.machine_types, machines)
    splits = sorted(set(data.splits[in_machines].tolist()))
    if args.split not in splits:
        hint = (
            " (MIMII trees have no split: use --split unknown)"
            if (splits == ["unknown"])
            else ""
        )
        raise ValueError(
            f"no {args.split!r} split for machine type(s) {machines} in "
            f"{args.data_root!r}; splits found: {splits}{hint}"
        )
    mask = in_machines & (data.splits == args.split) & (data.target == 0)
    if not mask.any():
        raise ValueError(
            f"no normal clip in the {args.split!r} split of machine type(s) "
            f"{machines} in {args.data_root!r}"
        )
    namings = sorted(set(data.naming[mask].tolist()))
    if args.year is not None and namings != [naming_of_year(args.year)]:
        raise ValueError(
            f"--year {args.year} expects DCASE {args.year} file names "
            f"({naming_of_year(args.year)}), but the training files follow "
            f"{namings}"
        )
    paths = data.filenames[mask].tolist()
    scheme = "machine_section" if len(machines) > 1 else "section"
    classes = _class_labels(data.machine_types[mask], data.sections[mask], scheme)
    return paths, classes, machines, scheme, namings, data
