# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Anomalous machine sound detection with a scikit-learn API.

Subpackages and modules
-----------------------
features
    Row-preserving transformers: ``AudioLoader``, ``LogMelSpectrogram``,
    ``MedianFilter``, ``BandStatistics``.
datasets
    ``load_dcase`` (DCASE / MIMII folder trees) and ``make_machine_sounds``
    (deterministic synthetic machine sounds).
metrics
    AUC, McClish-standardized pAUC, the DCASE official scores, per-section
    reports and metadata-routing scorers.
estimator
    ``ContrastiveASDEstimator`` (the seed system; ``branches="cnn"`` is the
    DCASE MobileNetV2 baseline) and ``AutoencoderBaseline`` (torch-backed).
KNNDetector
    The classical baseline: k-nearest-neighbour distances of clip features
    (e.g. ``BandStatistics`` -> ``StandardScaler`` -> ``KNNDetector``), with the
    detectors' API; top-level name only (no torch).
augment
    Fit-time augmentations: ``Mixup``, ``TimeMask``, ``FrameShift``,
    ``RandomMedianFilter`` and their ``AugmentationChain``.
model_selection
    ``AuxiliarySplit``: cross-validation that keeps auxiliary clips (other
    machines' recordings that train the classifier) out of every test fold.
scoring
    ``score_files``: score folders of any size in bounded memory.
persistence
    ``save_model`` / ``load_model``: versioned model files, written atomically.
plotting
    ``ASDCurveDisplay`` (ROC with the pAUC region), ``ScoreHistogramDisplay``,
    ``SpectrogramDisplay`` (before/after ``MedianFilter``) and
    ``TrainingCurveDisplay`` (matplotlib optional: ``pip install
    "sklearn-asd[plot]"``).
export
    ``export_onnx``: the inference graph (optionally with the log-mel front end)
    as an ONNX model (``pip install "sklearn-asd[onnx]"``).
streaming
    ``score_stream`` / ``iter_stream_scores``: per-window scores with timestamps
    for long recordings, in bounded memory.
submission
    DCASE submission files: result-file names per year, clip names, reading
    and writing score and decision files.
models
    The pure-torch modules (MobileNetV2, autoencoders, dual-branch model, losses).

``import sklearn_asd`` imports neither torch nor matplotlib: submodules load on
first attribute access (PEP 562).
"""

import importlib

from sklearn_asd._version import __version__

_SUBMODULES = [
    "augment",
    "cli",
    "datasets",
    "estimator",
    "export",
    "features",
    "metrics",
    "model_selection",
    "models",
    "persistence",
    "plotting",
    "scoring",
    "streaming",
    "submission",
    "utils",
]

# public name -> the submodule it is documented in and loaded from (a public
# module may re-export it from a private one: the detectors of ``estimator``
# live in ``_contrastive`` and ``_autoencoder_baseline``); names whose module
# is private (``_knn``) are documented at the top level
_LAZY_NAMES = {
    "AudioLoader": "features",
    "LogMelSpectrogram": "features",
    "MedianFilter": "features",
    "BandStatistics": "features",
    "ContrastiveASDEstimator": "estimator",
    "AutoencoderBaseline": "estimator",
    "KNNDetector": "_knn",
    "load_dcase": "datasets",
    "make_machine_sounds": "datasets",
    "partial_auc_score": "metrics",
    "official_score": "metrics",
    "section_report": "metrics",
    "score_files": "scoring",
    "save_model": "persistence",
    "load_model": "persistence",
    "export_onnx": "export",
    "score_stream": "streaming",
    "iter_stream_scores": "streaming",
    "ASDCurveDisplay": "plotting",
    "ScoreHistogramDisplay": "plotting",
    "SpectrogramDisplay": "plotting",
    "TrainingCurveDisplay": "plotting",
    "auc_scorer": "metrics",
    "pauc_scorer": "metrics",
    "official_scorer": "metrics",
}

__all__ = ["__version__", *_SUBMODULES, *_LAZY_NAMES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"sklearn_asd.{name}")
    if name in _LAZY_NAMES:
        module = importlib.import_module(f"sklearn_asd.{_LAZY_NAMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'sklearn_asd' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
