# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``--param`` parsing, the row pipelines, fingerprints and the PyOD peers."""

import hashlib
import json

from sklearn_asd._ablation._config import ROWS, UsageError
from sklearn_asd.cli._common import _parse_value

__all__ = []

#: Steps shared by every row (identical features).
FEATURE_STEPS = ("load", "mel")


def _parse_params(items):
    """``[ROW:]step__name=value`` strings -> list of (row or None, key, value).

    Values parse as ``sklearn-asd train --param`` parses them (the CLI's
    ``_parse_value``).
    """
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


def _is_feature_param(key):
    return key.split("__", 1)[0] in FEATURE_STEPS


def _feature_pipeline(defaults, params):
    """Build the shared ``load`` -> ``mel`` pipeline with the feature ``--param``."""
    from sklearn.pipeline import Pipeline

    from sklearn_asd.features import AudioLoader, LogMelSpectrogram

    features = Pipeline([("load", AudioLoader()), ("mel", LogMelSpectrogram())])
    features.set_params(**defaults)
    for row, key, value in params:
        if _is_feature_param(key):
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
    """Build the row's steps after the shared log-mel features, as a Pipeline."""
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
        if _is_feature_param(key):
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
    """Return the scalar parameters of an estimator or pipeline (fingerprint)."""
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
