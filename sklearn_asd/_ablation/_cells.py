# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""One ablation cell group: fit a row's pipeline, score the test clips, metrics."""

import contextlib
import io
import os
import time
import warnings

import numpy as np

from sklearn_asd._ablation._pipelines import _pyod_check
from sklearn_asd.cli._common import _metric_or_nan
from sklearn_asd.utils._response import _anomaly_scores

__all__ = []


def _metrics(y, scores, sections, domains):
    """Official score, AUC, pAUC of one machine type (NaN + note when undefined)."""
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.metrics import official_score, partial_auc_score

    notes = []
    n_anom = int(y.sum())
    if n_anom == 0 or n_anom == y.size:
        notes.append(
            f"test split has {y.size - n_anom} normal and {n_anom} anomalous clips: "
            "AUC undefined"
        )
        return float("nan"), float("nan"), float("nan"), notes
    auc = float(roc_auc_score(y, scores))
    pauc = float(partial_auc_score(y, scores))
    official, undefined = _metric_or_nan(
        official_score, y, scores, sections=sections, domains=domains
    )
    if undefined:
        notes.append("official score undefined: " + undefined[0].split(":")[0])
    return float(official), auc, pauc, notes


def _fit_score(pipe, row, Xtr, Xte, train_sections, test_sections, files):
    """Fit the row's pipeline, return DCASE-sign scores of the test clips."""
    if row.kind.startswith("pyod"):
        det = pipe[-1]
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            det.fit(list(files[0]))
            return _anomaly_scores(det, list(files[1]))
    front, det = pipe[:-1], pipe[-1]
    if len(front):
        Ftr, Fte = front.fit_transform(Xtr), front.transform(Xte)
    else:
        Ftr, Fte = Xtr, Xte
    if row.kind == "iforest":
        return _anomaly_scores(det.fit(Ftr), Fte)
    det.fit(Ftr, sections=train_sections)
    return _anomaly_scores(
        det, Fte, sections=test_sections if row.kind == "contrastive" else None
    )


def _run_group(
    row, seed, group, tree, feats, pipes, classes_mode, device, config, root
):
    """Fit one model (one machine type, or all with pooled classes); score it."""
    base = {"row": row.id, "label": row.label, "seed": seed, "device": device}
    cls = classes_mode if row.uses_classes else "-"

    def cell(machine, **kw):
        d = tree[machine]
        return {
            **base,
            "machine_type": machine,
            "n_train": len(d["train"]),
            "n_test_normal": int((d["y"] == 0).sum()),
            "n_test_anomalous": int((d["y"] == 1).sum()),
            "classes": cls,
            "config": config(row, seed, machine),
            "official": float("nan"),
            "auc": float("nan"),
            "pauc": float("nan"),
            "seconds": "",
            **kw,
        }

    pipe = pipes[row.id, seed]
    if pipe is None:
        reason = _pyod_check(row.kind)
        return [cell(m, status="skipped", note=reason) for m in group], []

    def labels(machine, which):
        s = tree[machine][f"{which}_sections"]
        if classes_mode == "machine_section":
            return np.array([f"{machine}/{x}" for x in s], dtype=object)
        return s

    if row.uses_classes:
        n_classes = len({c for m in group for c in labels(m, "train").tolist()})
        if n_classes < 2:
            note = (
                f"n/a: needs >= 2 sections (classes); {group[0]} has 1 training "
                "section (--classes machine_section with several machine types "
                "trains over <machine>/<section> classes)"
            )
            return [cell(m, status="n/a", note=note) for m in group], []

    t0 = time.perf_counter()
    Xtr = Xte = None
    if not row.kind.startswith("pyod"):
        parts = [feats.get(m) for m in group]
        Xtr = np.concatenate([p[0] for p in parts])
        Xte = np.concatenate([p[1] for p in parts])
    tr_sec = np.concatenate([labels(m, "train") for m in group])
    te_sec = np.concatenate([labels(m, "test") for m in group])
    files = (
        np.concatenate([tree[m]["train"] for m in group]),
        np.concatenate([tree[m]["test"] for m in group]),
    )
    if row.kind.startswith("pyod"):
        files = (list(files[0]), list(files[1]))
    try:
        scores = _fit_score(pipe, row, Xtr, Xte, tr_sec, te_sec, files)
    except ValueError as exc:
        note = "n/a: " + str(exc).splitlines()[0][:300]
        return [cell(m, status="n/a", note=note) for m in group], []
    seconds = round(time.perf_counter() - t0, 2)
    cells, score_rows = [], []
    start = 0
    for m in group:
        d = tree[m]
        n = len(d["test"])
        s = scores[start : start + n]
        start += n
        official, auc, pauc, notes = _metrics(
            d["y"], s, d["test_sections"], d["test_domains"]
        )
        if len(group) > 1:
            notes.insert(0, f"one model over {len(group)} machine types")
        cells.append(
            cell(
                m,
                status="ok",
                official=official,
                auc=auc,
                pauc=pauc,
                seconds=seconds,
                note="; ".join(notes),
            )
        )
        score_rows.extend(
            {
                "machine_type": m,
                "row": row.id,
                "seed": seed,
                "file": os.path.relpath(f, root),
                "section": sec,
                "domain": dom,
                "target": int(t),
                "kind": kind,
                "score": repr(float(v)),
            }
            for f, sec, dom, t, kind, v in zip(
                d["test"],
                d["test_sections"],
                d["test_domains"],
                d["y"],
                d["kinds"],
                s,
            )
        )
    return cells, score_rows
