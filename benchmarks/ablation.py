# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ablation of the seed system (MBv2, +CL, +MF, +CL,MF) beside the baselines.

Per machine type of a DCASE-style tree, on identical log-mel features and
splits (train on the normal clips of the ``train`` split, score every clip of
the ``test`` split), for every seed:

- ``mbv2``, "MBv2": ``ContrastiveASDEstimator(branches="cnn")`` on log-mel (the
  MobileNetV2 baseline);
- ``cl``, "+CL": ``branches="dual"`` (AE branch + contrastive loss), scored with
  the CNN branch as the seed does (``score_branch="cnn"``);
- ``mf``, "+MF": ``branches="cnn"`` after a ``MedianFilter`` step;
- ``cl_mf``, "+CL,MF": ``branches="dual"`` after a ``MedianFilter`` step;
- ``ae``, "AE baseline": ``AutoencoderBaseline`` on the same log-mel;
- ``iforest``, "IsolationForest": ``BandStatistics`` (per-band mean/std of the
  same log-mel) + ``sklearn.ensemble.IsolationForest``;
- ``iforest_mf``, "IsolationForest +MF": the same after a ``MedianFilter`` step;
- ``pyod_emb``, "PyOD EmbeddingOD.for_audio()" (optional: MFCC, chroma and
  spectral statistics + KNN, computed by PyOD from the wav files);
- ``pyod_ae``, "PyOD AudioAE" (optional: PyOD's own log-mel windows + dense
  autoencoder, from the wav files).

Metrics per (machine type, row, seed) "cell": the DCASE 2021 official score
(``sklearn_asd.metrics.official_score``: harmonic mean of the AUC and pAUC of
every section x domain group), and AUC / pAUC (McClish-standardized,
``max_fpr=0.1``) over all the machine type's test clips. Per (row, seed),
"overall" is the official score over every group of every machine type (the
seed's "score" column) and the arithmetic mean over machine types of AUC and
pAUC. The Markdown table gives mean ± std over seeds.

Sections as classes. The section classifier (MBv2 and the CNN score of +CL)
needs two or more classes. ``--classes section`` trains one model per machine
type with its sections as classes (the seed's setup); a machine type with one
section gets "n/a" cells for those four rows. ``--classes machine_section``
trains one model over all selected machine types with ``<machine>/<section>``
as classes and scores each machine type's clips with their own class (the
AE baseline, IsolationForest and PyOD rows stay per machine type).
``--classes auto`` (default) is ``section`` when every selected machine type
has two or more training sections, else ``machine_section``. The mode used is
recorded in every cell.

Resumable: each finished cell is added to ``<out>/<name>.csv`` at once (the
file is rewritten to a temporary file and moved into place with
``os.replace``, so an interruption never leaves half a cell); the clip scores go
to ``<name>_scores.csv`` the same way, before the cell. Rerunning the same
command skips the finished cells. A cell whose configuration (parameters,
files, classes) changed is refused instead of being mixed in: use another
``--out`` or ``--name``. ``<name>.md`` (tables) and ``<name>.json`` (machine
info of every run, parameters) are rewritten at the end of every run.

``--quick`` runs the same code path on synthetic data
(``sklearn_asd.datasets.make_machine_sounds``, written as a DCASE 2021 tree of
wav files in a temporary folder, anomaly kind in the file name as
``_kind_<kind>``), with tiny detectors and two seeds, and adds a table of AUC
per anomaly kind, with and without the median filter.

Usage::

    python benchmarks/ablation.py DATA_ROOT [--machine-types fan pump ...]
        [--seeds 0 1 2] [--device cpu|cuda] [--out DIR] [--name NAME]
        [--rows mbv2 cl mf cl_mf ae iforest pyod_emb pyod_ae]
        [--classes auto|section|machine_section]
        [--param [ROW:]STEP__NAME=VALUE ...]
    python benchmarks/ablation.py --quick [--out DIR]

``--param`` sets a parameter of the row pipelines by its ``get_params`` name:
steps ``load`` (AudioLoader, named as in ``sklearn-asd train``) and ``mel``
(LogMelSpectrogram) are shared by all rows, ``mf`` (MedianFilter) by the +MF
rows, ``stats`` (BandStatistics) is the IsolationForest row's, ``det`` is each
row's detector. Without ``ROW:`` a parameter goes to every row that has it
(e.g. ``det__max_epochs=5`` to the four seed rows and the AE baseline);
``ae:det__max_epochs=100`` to one row. Values parse as ``sklearn-asd train
--param`` parses them: Python literals (``mf__kernel_size=(1,7)``),
``true``/``false``/``none`` in any case, else plain strings.

Result folders written before the ``loader`` step was renamed ``load`` (and
before ``true``/``none`` parsed as booleans and None) resume as new: their
cells' configuration fingerprints differ, so rerunning the same command there
refuses to mix them in; use another ``--out`` or ``--name``.

Exit codes: 0 done, 2 usage or data error (one-line message), 130 interrupted
(finished cells are kept; rerun the same command to resume).
"""

import argparse
import contextlib
import csv
import datetime
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sklearn_asd.cli._common import _metric_or_nan, _parse_value
from sklearn_asd.persistence import atomic_open
from sklearn_asd.utils._response import _anomaly_scores

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_features import machine_info  # noqa: E402

RESULTS = HERE / "results"
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


@dataclass(frozen=True)
class Row:
    """One line of the ablation table."""

    id: str
    label: str
    kind: str  # "contrastive", "ae", "iforest", "pyod_emb", "pyod_ae"
    median_filter: bool = False
    branches: str = "cnn"

    @property
    def uses_classes(self):
        return self.kind == "contrastive"


ROWS = {
    r.id: r
    for r in [
        Row("mbv2", "MBv2", "contrastive", False, "cnn"),
        Row("cl", "+CL", "contrastive", False, "dual"),
        Row("mf", "+MF", "contrastive", True, "cnn"),
        Row("cl_mf", "+CL,MF", "contrastive", True, "dual"),
        Row("ae", "AE baseline", "ae"),
        Row("iforest", "IsolationForest", "iforest"),
        Row("iforest_mf", "IsolationForest +MF", "iforest", True),
        Row("pyod_emb", "PyOD EmbeddingOD.for_audio()", "pyod_emb"),
        Row("pyod_ae", "PyOD AudioAE", "pyod_ae"),
    ]
}

# Seed's published DCASE 2021 development-set ablation (official score, %),
# quoted from shared/DESIGN.md section 1 for the Markdown report.
SEED_DEV = {"MBv2": 56.01, "+CL": 56.18, "+MF": 57.75, "+CL,MF": 57.99}

# Detector settings of the real-data mode: the seed's architecture with the
# package defaults; pass --param to change them.
FULL = {
    "features": {"load__duration": 10.0},
    "contrastive": {},
    "ae": {},
}
# Tiny settings of --quick (1-s clips, 16 mel bands).
QUICK = {
    "features": {
        "load__duration": 1.0,
        "mel__n_mels": 16,
        "mel__n_fft": 256,
        "mel__hop_length": 128,
    },
    "contrastive": {
        "patch_frames": 32,
        "patch_hop": 16,
        "width": 0.25,
        "last_channel": 32,
        "embedding_dim": 8,
        "ae_hidden_dim": 32,
        "ae_bottleneck_dim": 8,
        "max_epochs": 4,
        "batch_size": 16,
    },
    "ae": {"hidden_dim": 32, "bottleneck_dim": 4, "max_epochs": 10, "batch_size": 128},
    # synthetic tree: machine type -> (machine_random_state)
    "machines": {"toy_a": 0, "toy_b": 1},
    "n_sections": 2,
    "n_train": 12,
    "n_test_normal": 12,
    "n_test_anomalous": 16,
    "severity": 0.8,
}

CELL_FIELDS = [
    "machine_type",
    "row",
    "label",
    "seed",
    "status",
    "official",
    "auc",
    "pauc",
    "n_train",
    "n_test_normal",
    "n_test_anomalous",
    "classes",
    "device",
    "seconds",
    "config",
    "note",
]
SCORE_FIELDS = [
    "machine_type",
    "row",
    "seed",
    "file",
    "section",
    "domain",
    "target",
    "kind",
    "score",
]


class UsageError(ValueError):
    """A bad command line or data tree (reported in one line, exit code 2)."""


def log(text):
    print(text, flush=True)


# ----------------------------------------------------------------- atomic files


def _write_atomic(path, text):
    """Replace ``path`` by ``text`` atomically (the package's ``atomic_open``)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def _csv_text(fields, rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in fields})
    return buf.getvalue()


def _fmt(value):
    if isinstance(value, float):
        return "" if np.isnan(value) else repr(value)
    return value


def _read_csv(path, fields):
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != fields:
            raise UsageError(
                f"{path} is not a results file of this script (columns "
                f"{reader.fieldnames}); use another --out or --name"
            )
        return list(reader)


def _key(cell):
    return (cell["machine_type"], cell["row"], str(cell["seed"]))


class Store:
    """The cells CSV and the clip-scores CSV, updated atomically cell by cell."""

    def __init__(self, out, name):
        self.cells_path = out / f"{name}.csv"
        self.scores_path = out / f"{name}_scores.csv"
        self.cells = {_key(c): c for c in _read_csv(self.cells_path, CELL_FIELDS)}
        self.scores = _read_csv(self.scores_path, SCORE_FIELDS)

    def finished(self, key, config):
        """Return True if ``key`` is finished with ``config``; raise on a clash."""
        cell = self.cells.get(key)
        if cell is None or cell["status"] == "skipped":
            return False  # skipped rows (missing optional package) are retried
        if cell["config"] != config:
            raise UsageError(
                f"{self.cells_path} holds cell {key} computed with another "
                f"configuration ({cell['config']}, now {config}): pass another "
                "--out or --name, or delete the file to start over"
            )
        return True

    def add(self, cells, scores):
        """Save ``cells`` (and their clip ``scores``): scores first, then cells."""
        # held in memory exactly as read back from the files: all strings
        cells = [{k: str(_fmt(v)) for k, v in c.items()} for c in cells]
        scores = [{k: str(_fmt(v)) for k, v in s.items()} for s in scores]
        keys = {_key(c) for c in cells}
        kept = [s for s in self.scores if _key(s) not in keys]
        new_scores = kept + scores
        _write_atomic(self.scores_path, _csv_text(SCORE_FIELDS, new_scores))
        self.scores = new_scores
        new_cells = dict(self.cells)
        for c in cells:
            new_cells[_key(c)] = c
        _write_atomic(self.cells_path, _csv_text(CELL_FIELDS, new_cells.values()))
        self.cells = new_cells


# --------------------------------------------------------------- configuration


def _parse_params(items):
    """``[ROW:]step__name=value`` strings -> list of (row or None, key, value)."""
    out = []
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--param {item!r}: expected [ROW:]STEP__NAME=VALUE")
        lhs, value = item.split("=", 1)
        row = None
        if ":" in lhs:
            row, lhs = lhs.split(":", 1)
            if row not in ROWS:
                raise UsageError(
                    f"--param {item!r}: unknown row {row!r}; rows: {list(ROWS)}"
                )
        if "__" not in lhs:
            raise UsageError(
                f"--param {item!r}: the name needs a step prefix, e.g. "
                "det__max_epochs, mel__n_mels, mf__kernel_size"
            )
        out.append((row, lhs.strip(), _parse_value(value.strip())))
    return out


def _feature_pipeline(defaults, params):
    from sklearn.pipeline import Pipeline

    from sklearn_asd.features import AudioLoader, LogMelSpectrogram

    features = Pipeline([("load", AudioLoader()), ("mel", LogMelSpectrogram())])
    features.set_params(**defaults)
    for row, key, value in params:
        if key.split("__", 1)[0] in ("load", "mel"):
            if row is not None:
                raise UsageError(
                    f"--param {row}:{key}: features are shared by all rows (identical "
                    "features); drop the row prefix"
                )
            if key not in features.get_params():
                raise UsageError(f"--param {key}: no such feature parameter")
            features.set_params(**{key: value})
    return features


def _row_pipeline(row, n_mels, seed, device, settings):
    """The row's steps after the shared log-mel features, as a Pipeline."""
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import Pipeline

    from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
    from sklearn_asd.features import BandStatistics, MedianFilter

    steps = []
    if row.median_filter:
        steps.append(("mf", MedianFilter(n_mels=n_mels)))
    if row.kind == "contrastive":
        extra = {} if row.branches == "cnn" else {"score_branch": "cnn"}
        det = ContrastiveASDEstimator(
            n_mels=n_mels,
            branches=row.branches,
            device=device,
            random_state=seed,
            **extra,
            **settings["contrastive"],
        )
    elif row.kind == "ae":
        det = AutoencoderBaseline(
            n_mels=n_mels, device=device, random_state=seed, **settings["ae"]
        )
    elif row.kind == "iforest":
        steps.append(("stats", BandStatistics(n_mels=n_mels)))
        det = IsolationForest(random_state=seed)
    elif row.kind == "pyod_emb":
        from pyod.models.embedding import EmbeddingOD

        det = EmbeddingOD.for_audio(random_state=seed)
    elif row.kind == "pyod_ae":
        from pyod.models.audio_ae import AudioAE

        det = AudioAE(random_state=seed, device=device)
    steps.append(("det", det))
    return Pipeline(steps)


def _apply_params(pipe, row, params):
    """Set the ``--param`` values that apply to ``row``; return the keys used."""
    used = set()
    names = pipe.get_params()
    for target, key, value in params:
        if key.split("__", 1)[0] in ("load", "mel"):
            continue
        if target is not None and target != row.id:
            continue
        if key in names:
            pipe.set_params(**{key: value})
            used.add((target, key))
        elif target is not None:
            raise UsageError(f"--param {target}:{key}: row {row.id} has no such step")
    return used


def _simple_params(est):
    """The scalar parameters of an estimator or pipeline, for the fingerprint."""
    skip = ("device", "verbose", "n_jobs", "memory", "transform_input")
    out = {}
    for k, v in est.get_params(deep=True).items():
        if k.rsplit("__", 1)[-1] in skip or hasattr(v, "get_params"):
            continue
        if k == "steps":
            continue
        out[k] = repr(v)
    return out


def _fingerprint(*parts):
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _pyod_check(kind):
    """Return None if the PyOD detector of ``kind`` is usable, else the reason."""
    try:
        import pyod
    except ImportError:
        return "pyod is not installed (optional: pip install pyod)"
    version = getattr(pyod, "__version__", "?")
    try:
        if kind == "pyod_emb":
            from pyod.models.embedding import EmbeddingOD

            if not hasattr(EmbeddingOD, "for_audio"):
                return f"pyod {version} has EmbeddingOD but no EmbeddingOD.for_audio"
        else:
            from pyod.models.audio_ae import AudioAE  # noqa: F401
    except ImportError as exc:
        return f"pyod {version} has no {exc.name or 'such module'} ({exc})"
    return None


# ------------------------------------------------------------------------- data


def _relative(path, root):
    return os.path.relpath(path, root)


def _load_tree(root, machine_types):
    """Train (normal) and test clips per machine type; clear errors otherwise."""
    from sklearn_asd.datasets import load_dcase

    try:
        data = load_dcase(root, machine_type=machine_types)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    out = {}
    for machine in sorted(set(data.machine_types.tolist())):
        m = data.machine_types == machine
        splits = sorted(set(data.splits[m].tolist()))
        train = m & (data.splits == "train") & (data.target == 0)
        test = m & (data.splits == "test")
        if not train.any() or not test.any():
            raise UsageError(
                f"machine type {machine!r} has no "
                f"{'train' if not train.any() else 'test'} clips (splits found: "
                f"{splits}); the ablation trains on the "
                "normal clips of train/ and scores test/: select machine types "
                "with --machine-types"
            )
        if (data.target[test] < 0).any():
            raise UsageError(
                f"machine type {machine!r}: test clips without labels (an "
                "evaluation set?); the ablation needs labelled test clips"
            )
        kinds = np.array(
            [a.get("kind", "") for a in data.attributes[test]], dtype=object
        )
        out[machine] = {
            "train": data.filenames[train],
            "train_sections": data.sections[train],
            "test": data.filenames[test],
            "test_sections": data.sections[test],
            "test_domains": data.domains[test],
            "y": data.target[test].astype(int),
            "kinds": kinds,
        }
    return out


def _write_quick_tree(root):
    """Write the synthetic DCASE 2021 tree of --quick; return its machine types."""
    import soundfile as sf

    from sklearn_asd.datasets import make_machine_sounds

    common = {
        "n_sections": QUICK["n_sections"],
        "duration": QUICK["features"]["load__duration"],
        "severity": QUICK["severity"],
    }
    for machine, machine_seed in QUICK["machines"].items():
        train = make_machine_sounds(
            n_normal=QUICK["n_train"],
            n_anomalous=0,
            machine_random_state=machine_seed,
            random_state=100 + machine_seed,
            **common,
        )
        test = make_machine_sounds(
            n_normal=QUICK["n_test_normal"],
            n_anomalous=QUICK["n_test_anomalous"],
            machine_random_state=machine_seed,
            random_state=200 + machine_seed,
            **common,
        )
        for folder, sounds, split in (
            ("train", train, "train"),
            (
                "source_test",
                test,
                "test",
            ),
        ):
            (root / machine / folder).mkdir(parents=True)
            for i, y in enumerate(sounds.data):
                label = "anomaly" if sounds.target[i] else "normal"
                suffix = f"_kind_{sounds.anomaly_kinds[i]}" if sounds.target[i] else ""
                name = (
                    f"section_{sounds.sections[i]}_source_{split}_{label}_{i:04d}"
                    f"{suffix}.wav"
                )
                sf.write(root / machine / folder / name, y, sounds.sr, subtype="FLOAT")
    return list(QUICK["machines"])


class Features:
    """Log-mel features of each machine type, computed once per run (lazily)."""

    def __init__(self, features, tree, chunk_size=128):
        self.features = features
        self.tree = tree
        self.chunk_size = chunk_size
        self.cache = {}
        self.fitted = None

    def _transform(self, paths):
        if self.fitted is None:
            from sklearn.base import clone

            self.fitted = clone(self.features).fit(list(paths[:1]))
        parts = [
            self.fitted.transform(list(paths[i : i + self.chunk_size]))
            for i in range(0, len(paths), self.chunk_size)
        ]
        return np.concatenate(parts)

    def get(self, machine):
        if machine not in self.cache:
            t0 = time.perf_counter()
            d = self.tree[machine]
            self.cache[machine] = (
                self._transform(d["train"]),
                self._transform(d["test"]),
            )
            log(
                f"  features of {machine}: {len(d['train'])} train + {len(d['test'])} "
                f"test clips in {time.perf_counter() - t0:.1f} s"
            )
        return self.cache[machine]

    def drop(self, machine):
        self.cache.pop(machine, None)


# ---------------------------------------------------------------------- scoring


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


# -------------------------------------------------------------------- the runner


def _resolve_classes(mode, tree):
    """Return ("section" | "machine_section", reason)."""
    n_sections = {m: len(set(d["train_sections"].tolist())) for m, d in tree.items()}
    if mode != "auto":
        return mode, f"--classes {mode}"
    if all(n >= 2 for n in n_sections.values()):
        return "section", "every machine type has >= 2 training sections"
    if len(tree) >= 2:
        few = sorted(m for m, n in n_sections.items() if n < 2)
        return "machine_section", (
            f"machine type(s) {few} have one training section: one model over "
            "all machine types with <machine>/<section> classes"
        )
    return "section", "one machine type with one section: the MBv2/+CL rows are n/a"


def run(args):
    """Run or resume the ablation; return the exit code."""
    quick = args.quick
    settings = QUICK if quick else FULL
    seeds = args.seeds or ([0, 1] if quick else [0, 1, 2])
    name = args.name or ("ablation_quick" if quick else "ablation")
    out = Path(args.out or RESULTS)
    row_ids = args.rows or list(ROWS)
    unknown = [r for r in row_ids if r not in ROWS]
    if unknown:
        raise UsageError(f"unknown row(s) {unknown}; rows: {list(ROWS)}")
    rows = [ROWS[r] for r in dict.fromkeys(row_ids)]
    params = _parse_params(args.param)
    import torch

    try:
        torch.device(args.device)
    except RuntimeError as exc:
        raise UsageError(f"--device {args.device!r}: {exc}") from None
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: torch sees no CUDA GPU")
    if any(seed < 0 for seed in seeds) or len(set(seeds)) < len(seeds):
        raise UsageError(f"--seeds must be distinct integers >= 0, got {seeds}")
    threads = args.threads or (1 if quick else None)
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be >= 1, got {threads}")
        # tiny models run faster on one thread (and do not fight over shared
        # cores); the real-data default keeps torch's choice
        torch.set_num_threads(threads)
    if not quick and len(seeds) < 3:
        log(f"note: {len(seeds)} seed(s): the std over seeds needs 3 or more")

    out.mkdir(parents=True, exist_ok=True)
    store = Store(out, name)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with contextlib.ExitStack() as stack:
        if quick:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            machines = _write_quick_tree(root)
            data_label = "synthetic (make_machine_sounds, --quick)"
        else:
            if args.data_root is None:
                raise UsageError("give DATA_ROOT, or --quick")
            root = Path(args.data_root)
            machines = args.machine_types
            data_label = os.fspath(root)
        tree = _load_tree(root, machines)
        classes_mode, classes_reason = _resolve_classes(args.classes, tree)
        log(f"data: {data_label}; machine types {list(tree)}; classes: {classes_mode}")
        log(f"  ({classes_reason})")
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
                pipe = _row_pipeline(row, n_mels, seed, args.device, settings)
                used |= _apply_params(pipe, row, params)
                pipes[row.id, seed] = pipe
        for target, key, _ in params:
            if key.split("__", 1)[0] in ("load", "mel"):
                continue
            if (target, key) not in used:
                raise UsageError(f"--param {key}: no selected row has this parameter")

        def files_of(machine):
            d = tree[machine]
            return [
                [_relative(p, root) for p in d["train"]],
                [_relative(p, root) for p in d["test"]],
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
        log(
            f"{n_skipped} cell(s) already in {store.cells_path}; {len(plan)} "
            "fit(s) to run"
        )
        feats = Features(features, tree)
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
                    args.device,
                    config,
                    root,
                )
                store.add(cells, scores)
                n_done += len(cells)
                for c in cells:
                    log(
                        f"[done] {c['machine_type']} | {row.label} | seed {seed}: "
                        f"{c['status']} official={_pct(c['official'])} "
                        f"AUC={_pct(c['auc'])} pAUC={_pct(c['pauc'])}"
                        + (f" ({c['seconds']} s)" if c["seconds"] != "" else "")
                        + (f"; {c['note']}" if c["note"] else "")
                    )
        except KeyboardInterrupt:
            log(
                f"interrupted: {n_done} cell(s) computed in this run and saved in "
                f"{store.cells_path}; the cell in progress was discarded. Rerun the "
                "same command to resume."
            )
            return EXIT_INTERRUPTED
        log(f"computed {n_done} cell(s), skipped {n_skipped} finished cell(s)")

        expected = [(m, r.id, str(s)) for m in tree for r in rows for s in seeds]
        report = _report(store, expected, tree, rows, seeds, quick)
        run_info = {
            "started": started,
            "command": "python benchmarks/ablation.py " + " ".join(args.argv),
            "cells_computed": n_done,
            "code": _code_version(),
            "machine": _machine(args.device),
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
        log(f"wrote {store.cells_path}, {out / (name + '.md')}, {meta_path}")
    return 0


def _code_version():
    """Git commit of the checkout, flagged when sklearn_asd/ has local changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sklearn_asd"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changed = " + uncommitted changes in sklearn_asd/" if dirty.stdout.strip() else ""
    return head.stdout.strip() + changed


def _machine(device):
    import torch

    info = machine_info()
    info["torch_threads"] = torch.get_num_threads()
    info["device"] = device
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def _pct(value):
    v = float(value) if value != "" else float("nan")
    return "n/a" if np.isnan(v) else f"{100 * v:.2f}"


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
                "file": _relative(f, root),
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


# ---------------------------------------------------------------------- reports


def _value(cell, key):
    v = cell.get(key, "")
    return float(v) if v not in ("", None) else float("nan")


def _report(store, expected, tree, rows, seeds, quick):
    """Per (row, seed) overall values and per-kind AUCs, from the saved scores."""
    from sklearn.metrics import roc_auc_score

    from sklearn_asd.metrics import official_score

    missing = [k for k in expected if k not in store.cells]
    if missing:
        raise RuntimeError(f"cells missing after the run: {missing[:5]}")
    scores = {}
    for s in store.scores:
        scores.setdefault((s["row"], s["seed"]), []).append(s)
    overall = {}
    kinds = {}
    for row in rows:
        for seed in seeds:
            cells = [store.cells[m, row.id, str(seed)] for m in tree]
            ok = [c for c in cells if c["status"] == "ok"]
            entry = {
                "official": float("nan"),
                "auc": float("nan"),
                "pauc": float("nan"),
            }
            if len(ok) == len(cells):
                clips = [
                    s
                    for s in scores.get((row.id, str(seed)), [])
                    if s["machine_type"] in tree
                ]
                y = np.array([int(s["target"]) for s in clips])
                v = np.array([float(s["score"]) for s in clips])
                try:
                    entry["official"] = official_score(
                        y,
                        v,
                        sections=[s["section"] for s in clips],
                        domains=[s["domain"] for s in clips],
                        machine_types=[s["machine_type"] for s in clips],
                    )
                except ValueError:
                    pass
                aucs = [_value(c, "auc") for c in ok]
                paucs = [_value(c, "pauc") for c in ok]
                entry["auc"] = (
                    float(np.nanmean(aucs))
                    if not np.isnan(aucs).all()
                    else float("nan")
                )
                entry["pauc"] = (
                    float(np.nanmean(paucs))
                    if not np.isnan(paucs).all()
                    else float("nan")
                )
                entry["n_auc"] = int(np.isfinite(aucs).sum())
                # AUC per anomaly kind (normals + that kind), mean over machine types
                per_kind = {}
                for m in tree:
                    mc = [s for s in clips if s["machine_type"] == m]
                    yk = np.array([int(s["target"]) for s in mc])
                    vk = np.array([float(s["score"]) for s in mc])
                    kk = np.array([s["kind"] for s in mc])
                    for kind in sorted(set(kk[yk == 1].tolist()) - {""}):
                        mask = (yk == 0) | (kk == kind)
                        if (yk[mask] == 0).any():
                            per_kind.setdefault(kind, []).append(
                                roc_auc_score(yk[mask], vk[mask])
                            )
                kinds[row.id, seed] = {
                    k: float(np.mean(v)) for k, v in per_kind.items()
                }
            overall[row.id, seed] = entry
    return {
        "overall": overall,
        "kinds": kinds,
        "tree": tree,
        "rows": rows,
        "seeds": seeds,
    }


def _mean_std(values):
    v = np.array([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "n/a"
    text = f"{100 * v.mean():.2f} ± {100 * v.std():.2f}"
    if v.size < len(values):
        text += f" ({v.size}/{len(values)} seeds)"
    return text


def _markdown(report, meta, store, name, quick):
    tree, rows, seeds = report["tree"], report["rows"], report["seeds"]
    machines = list(tree)
    lines = [
        f"# Ablation results: `{name}`",
        "",
        "Generated by `benchmarks/ablation.py` (do not edit by hand). "
        + (
            "**Synthetic data (`--quick`): a code-path check with tiny detectors, "
            "not a DCASE result.**"
            if quick
            else "**Small-sample check unless the data root is a full DCASE "
            "development set: not a DCASE result.**"
        ),
        "",
        f"- data: {meta['data']}; machine types: {', '.join(machines)}",
        f"- seeds: {seeds}; classes of the section classifier: {meta['classes']} "
        f"({meta['classes_reason']})",
        "- values in %, mean ± std over seeds (population std); official = DCASE "
        "2021 score (harmonic mean of the AUC and pAUC of every section x domain "
        "group); AUC and pAUC (McClish, max_fpr=0.1) over all test clips of the "
        "machine type; overall AUC/pAUC = mean over machine types.",
        "",
    ]
    for metric, title in (
        ("official", "Official DCASE 2021 score"),
        ("auc", "AUC"),
        ("pauc", "pAUC"),
    ):
        lines += [
            f"## {title}",
            "",
            "| row | " + " | ".join(machines) + " | overall |",
            "|---|" + "---:|" * (len(machines) + 1),
        ]
        for row in rows:
            cells = []
            for m in machines:
                vals = [_value(store.cells[m, row.id, str(s)], metric) for s in seeds]
                text = _mean_std(vals)
                if text == "n/a":
                    status = store.cells[m, row.id, str(seeds[0])]["status"]
                    text = "skipped" if status == "skipped" else "n/a"
                cells.append(text)
            ov = [report["overall"][row.id, s][metric] for s in seeds]
            overall = _mean_std(ov)
            n_def = {report["overall"][row.id, s].get("n_auc") for s in seeds}
            n_def = min((n for n in n_def if n is not None), default=0)
            if metric != "official" and overall != "n/a" and n_def < len(machines):
                overall += f" (mean of {n_def} of {len(machines)} machine types)"
            lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {overall} |")
        lines.append("")
    kinds = sorted({k for v in report["kinds"].values() for k in v})
    if kinds:
        lines += [
            "## AUC per anomaly kind (normal clips vs that kind; mean over machine "
            "types, then mean ± std over seeds)",
            "",
            "Compare MBv2 with +MF, +CL with +CL,MF and IsolationForest with "
            "IsolationForest +MF: the median filter suppresses short events, "
            "which can erase genuine short anomalies such as clicks.",
            "",
            "| row | median filter | " + " | ".join(kinds) + " |",
            "|---|---|" + "---:|" * len(kinds),
        ]
        for row in rows:
            vals = [
                _mean_std(
                    [
                        report["kinds"].get((row.id, s), {}).get(k, float("nan"))
                        for s in seeds
                    ]
                )
                for k in kinds
            ]
            lines.append(
                f"| {row.label} | {'yes' if row.median_filter else 'no'} | "
                + " | ".join(vals)
                + " |"
            )
        lines.append("")
    # note fragment -> machine type -> row labels (the pooled-classes note is
    # in the header already)
    notes = {}
    for m in machines:
        for row in rows:
            for s in seeds:
                for part in store.cells[m, row.id, str(s)]["note"].split("; "):
                    if part and not part.startswith("one model over"):
                        notes.setdefault(part, {}).setdefault(m, set()).add(row.label)
    if notes:
        lines += ["## Notes", ""]
        all_labels = [r.label for r in rows]
        for part, where in notes.items():
            by_rows = {}  # same rows -> machine types
            for m, labels in where.items():
                key = tuple(x for x in all_labels if x in labels)
                by_rows.setdefault(key, []).append(m)
            text = [
                ", ".join(ms)
                + (" (all rows)" if len(key) == len(rows) else f" ({', '.join(key)})")
                for key, ms in by_rows.items()
            ]
            part = part.removeprefix("n/a: ")
            lines.append(f"- {part}: " + "; ".join(text))
        lines.append("")
    if any(r.label in SEED_DEV for r in rows):
        lines += [
            "## The seed's published numbers (theirs, for reference)",
            "",
            "DCASE 2021 Task 2 development set, official score %, from the seed "
            "poster (shared/DESIGN.md section 1): "
            + ", ".join(f"{k} {v}" for k, v in SEED_DEV.items())
            + ". Not comparable with small-sample or synthetic results.",
            "",
        ]
    lines += ["## Runs", ""]
    for r in meta["runs"]:
        mi = r["machine"]
        lines.append(
            f"- {r['started']}: `{r['command']}`: {r['cells_computed']} cell(s) "
            f"computed; code {r.get('code', 'unknown')}; {mi['cpu']}, "
            f"{mi['cores_available']} cores, torch "
            f"{mi['torch']} ({mi['torch_threads']} threads), librosa {mi['librosa']}, "
            f"scikit-learn {mi['scikit-learn']}, device {mi['device']}"
            + (f", GPU {mi['gpu']}" if mi["gpu"] else "")
        )
    lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------------- CLI


def _parser():
    p = argparse.ArgumentParser(
        prog="ablation.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data_root", nargs="?", help="DCASE-style tree (omit with --quick)")
    p.add_argument("--quick", action="store_true", help="synthetic data, tiny models")
    p.add_argument("--machine-types", nargs="+", default=None)
    p.add_argument("--seeds", nargs="+", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: 1 with --quick, else torch's default)",
    )
    p.add_argument("--out", default=None, help=f"results folder (default {RESULTS})")
    p.add_argument("--name", default=None, help="file name stem of the results")
    p.add_argument("--rows", nargs="+", default=None, help=f"subset of {list(ROWS)}")
    p.add_argument(
        "--classes", choices=["auto", "section", "machine_section"], default="auto"
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[ROW:]STEP__NAME=VALUE",
        help="set a pipeline parameter (repeatable)",
    )
    return p


def main(argv=None):
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    if args.quick and args.data_root is not None:
        print(
            "ablation.py: error: give DATA_ROOT or --quick, not both", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        return run(args)
    except UsageError as exc:
        print(f"ablation.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
