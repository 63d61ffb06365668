# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ablation runner: plan the cells, fit and score them, save them one by one.

Per machine type of a DCASE-style tree, on identical log-mel features and
splits (train on the normal clips of the ``train`` split, score every clip of
the ``test`` split), for every seed, each row of
:data:`~sklearn_asd._ablation._config.ROWS` gives one "cell": the DCASE 2021
official score, AUC and pAUC. Finished cells are saved at once (scores first,
then the cell, each file replaced atomically), so an interruption loses at most
the cell in progress and a rerun of the same command resumes; a cell whose
configuration fingerprint changed is refused instead of being mixed in.
"""

import contextlib
import datetime
import json
import os
import tempfile
from pathlib import Path

from sklearn_asd._ablation._cells import _run_group
from sklearn_asd._ablation._config import (
    DEFAULT_OUT,
    EXIT_INTERRUPTED,
    FULL,
    QUICK,
    ROWS,
    UsageError,
)
from sklearn_asd._ablation._data import (
    Features,
    _load_tree,
    _resolve_classes,
    _write_quick_tree,
)
from sklearn_asd._ablation._pipelines import (
    _apply_params,
    _feature_pipeline,
    _fingerprint,
    _is_feature_param,
    _parse_params,
    _pyod_check,
    _row_pipeline,
    _simple_params,
)
from sklearn_asd._ablation._report import _markdown, _pct, _report
from sklearn_asd._ablation._store import Store, _write_atomic

__all__ = []


def _say(text):
    print(text, flush=True)


def run_ablation(
    data_root=None,
    *,
    quick=False,
    machine_types=None,
    seeds=None,
    device="cpu",
    threads=None,
    out=None,
    name=None,
    rows=None,
    classes="auto",
    params=(),
    command="sklearn-asd ablation",
    say=_say,
):
    """Run or resume the ablation; return the exit status (0, or 130 if stopped).

    Parameters
    ----------
    data_root : str or path-like, default=None
        DCASE-style tree; ``None`` with ``quick=True`` (synthetic tree).
    quick : bool, default=False
        Synthetic data, tiny detectors, seeds 0 and 1, one torch thread.
    machine_types : list of str, default=None
        Machine types of the tree; ``None`` (or ``["all"]``): all of them.
    seeds : list of int, default=None
        ``None``: 0 1 (``quick``) or 0 1 2.
    device : str, default="cpu"
        torch device of the neural detectors.
    threads : int, default=None
        torch threads (``None``: 1 with ``quick``, else torch's default).
    out : str or path-like, default=None
        Results folder (``None``: ``./ablation_results``).
    name : str, default=None
        File name stem (``None``: ``ablation`` or ``ablation_quick``).
    rows : list of str, default=None
        Row ids (``None``: every row).
    classes : {"auto", "section", "machine_section"}, default="auto"
        Classes of the section classifier.
    params : list of str, default=()
        ``[ROW:]STEP__NAME=VALUE`` settings.
    command : str, default="sklearn-asd ablation"
        The command line recorded in the run information.
    say : callable, default=print
        Receives the log lines.

    Returns
    -------
    status : int
        0 when every cell is done, 130 when interrupted (the finished cells are
        saved). A bad command line or tree raises ``UsageError`` (a
        ``ValueError``).
    """
    if quick and data_root is not None:
        raise UsageError("give DATA_ROOT or --quick, not both")
    if not quick and data_root is None:
        raise UsageError("give DATA_ROOT, or --quick")
    settings = QUICK if quick else FULL
    seeds = list(seeds) if seeds else ([0, 1] if quick else [0, 1, 2])
    name = name or ("ablation_quick" if quick else "ablation")
    out = Path(out if out is not None else DEFAULT_OUT)
    row_ids = rows or list(ROWS)
    unknown = [r for r in row_ids if r not in ROWS]
    if unknown:
        raise UsageError(f"unknown row(s) {unknown}; rows: {list(ROWS)}")
    rows = [ROWS[r] for r in dict.fromkeys(row_ids)]
    if machine_types and "all" in machine_types:
        machine_types = None
    params = _parse_params(params)
    import torch

    try:
        torch.device(device)
    except RuntimeError as exc:
        raise UsageError(f"--device {device!r}: {exc}") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: torch sees no CUDA GPU")
    if any(seed < 0 for seed in seeds) or len(set(seeds)) < len(seeds):
        raise UsageError(f"--seeds must be distinct integers >= 0, got {seeds}")
    threads = threads or (1 if quick else None)
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be >= 1, got {threads}")
        # tiny models run faster on one thread (and do not fight over shared
        # cores); the real-data default keeps torch's choice
        torch.set_num_threads(threads)
    if not quick and len(seeds) < 3:
        say(f"note: {len(seeds)} seed(s): the std over seeds needs 3 or more")

    out.mkdir(parents=True, exist_ok=True)
    store = Store(out, name)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with contextlib.ExitStack() as stack:
        if quick:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            machines = _write_quick_tree(root)
            data_label = "synthetic (make_machine_sounds, --quick)"
        else:
            root = Path(data_root)
            machines = machine_types
            data_label = os.fspath(root)
        tree = _load_tree(root, machines)
        classes_mode, classes_reason = _resolve_classes(classes, tree)
        say(f"data: {data_label}; machine types {list(tree)}; classes: {classes_mode}")
        say(f"  ({classes_reason})")
        features = _feature_pipeline(settings["features"], params)
        n_mels = features.get_params()["mel__n_mels"]
        feat_params = _simple_params(features)

        # fingerprints and pipelines of every (row, seed); unmatched --param fails
        used = set()
        pipes = {}
        for row in rows:
            for seed in seeds:
                if row.kind.startswith("pyod") and _pyod_check(row.kind):
                    pipes[row.id, seed] = None
                    continue
                pipe = _row_pipeline(row, n_mels, seed, device, settings)
                used |= _apply_params(pipe, row, params)
                pipes[row.id, seed] = pipe
        for target, key, _ in params:
            if _is_feature_param(key):
                continue
            if (target, key) not in used:
                raise UsageError(f"--param {key}: no selected row has this parameter")

        def files_of(machine):
            d = tree[machine]
            return [
                [os.path.relpath(p, root) for p in d["train"]],
                [os.path.relpath(p, root) for p in d["test"]],
            ]

        def config(row, seed, machine):
            pipe = pipes[row.id, seed]
            parts = [row.id, feat_params, files_of(machine)]
            if pipe is not None:
                parts.append(_simple_params(pipe))
            if row.uses_classes:
                parts.append(classes_mode)
                if classes_mode == "machine_section":
                    parts.append({m: files_of(m) for m in tree})
            if row.kind.startswith("pyod") and pipe is not None:
                import pyod

                parts.append(pyod.__version__)
            return _fingerprint(*parts)

        plan = []  # (row, seed, [machines]) groups, fitted once each
        n_skipped = 0
        for row in rows:
            for seed in seeds:
                todo = [
                    m
                    for m in tree
                    if not store.finished((m, row.id, str(seed)), config(row, seed, m))
                ]
                n_skipped += len(tree) - len(todo)
                if not todo:
                    continue
                if row.uses_classes and classes_mode == "machine_section":
                    plan.append((row, seed, list(tree)))  # one model: all machines
                else:
                    plan.extend((row, seed, [m]) for m in todo)
        # per-machine groups first, machine type by machine type (bounded
        # memory), rows in the order given (stable sort keeps the seed order)
        order = [r.id for r in rows]
        plan.sort(key=lambda g: (len(g[2]) > 1, g[2][0], order.index(g[0].id)))
        say(
            f"{n_skipped} cell(s) already in {store.cells_path}; {len(plan)} "
            "fit(s) to run"
        )
        feats = Features(features, tree, say)
        n_done = 0
        try:
            for i, (row, seed, group) in enumerate(plan):
                # free the features of machine types no later group needs
                later = {m for _, _, g in plan[i:] for m in g}
                for m in list(feats.cache):
                    if m not in later:
                        feats.drop(m)
                cells, scores = _run_group(
                    row,
                    seed,
                    group,
                    tree,
                    feats,
                    pipes,
                    classes_mode,
                    device,
                    config,
                    root,
                )
                store.add(cells, scores)
                n_done += len(cells)
                for c in cells:
                    say(
                        f"[done] {c['machine_type']} | {row.label} | seed {seed}: "
                        f"{c['status']} official={_pct(c['official'])} "
                        f"AUC={_pct(c['auc'])} pAUC={_pct(c['pauc'])}"
                        + (f" ({c['seconds']} s)" if c["seconds"] != "" else "")
                        + (f"; {c['note']}" if c["note"] else "")
                    )
        except KeyboardInterrupt:
            say(
                f"interrupted: {n_done} cell(s) computed in this run and saved in "
                f"{store.cells_path}; the cell in progress was discarded. Rerun the "
                "same command to resume."
            )
            return EXIT_INTERRUPTED
        say(f"computed {n_done} cell(s), skipped {n_skipped} finished cell(s)")

        expected = [(m, r.id, str(s)) for m in tree for r in rows for s in seeds]
        report = _report(store, expected, tree, rows, seeds, quick)
        run_info = {
            "started": started,
            "command": command,
            "cells_computed": n_done,
            "code": _code_version(),
            "machine": _machine(device),
        }
        meta_path = out / f"{name}.json"
        runs = []
        if meta_path.exists():
            with contextlib.suppress(ValueError, KeyError):
                runs = json.loads(meta_path.read_text())["runs"]
        if n_done or not runs:  # a run that only resumed adds no numbers
            runs.append(run_info)
        meta = {
            "benchmark": "ablation",
            "data": data_label,
            "machine_types": list(tree),
            "seeds": seeds,
            "classes": classes_mode,
            "classes_reason": classes_reason,
            "features": feat_params,
            "rows": {
                r.id: {
                    "label": r.label,
                    "params": _simple_params(pipes[r.id, seeds[0]])
                    if pipes[r.id, seeds[0]] is not None
                    else None,
                }
                for r in rows
            },
            "runs": runs,
        }
        _write_atomic(meta_path, json.dumps(meta, indent=2) + "\n")
        md = _markdown(report, meta, store, name, quick)
        _write_atomic(out / f"{name}.md", md)
        say(f"wrote {store.cells_path}, {out / (name + '.md')}, {meta_path}")
    return 0


def _code_version():
    """Git commit of the package's checkout, flagged when it has local changes.

    ``unknown`` for an installed package (its folder is not tracked by git).
    """
    import subprocess

    import sklearn_asd

    package = Path(sklearn_asd.__file__).resolve().parent

    def git(*argv):
        return subprocess.run(
            ["git", *argv],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=10,
        )

    try:
        # an installed copy inside another repository (a venv) is not tracked
        tracked = git("ls-files", "--error-unmatch", "__init__.py")
        if tracked.returncode != 0:
            return "unknown (not a git checkout)"
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changed = " + uncommitted changes in sklearn_asd/" if dirty.stdout.strip() else ""
    return head.stdout.strip() + changed


def _machine(device):
    import torch

    from sklearn_asd.utils._machine import machine_info

    info = machine_info()
    info["torch_threads"] = torch.get_num_threads()
    info["device"] = device
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info
