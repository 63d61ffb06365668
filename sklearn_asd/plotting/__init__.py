# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Plots for anomalous sound detection, following scikit-learn's Display API.

- :class:`ASDCurveDisplay`: ROC curve with the pAUC region (FPR in
  ``[0, max_fpr]``) shaded and AUC / pAUC in the legend;
- :class:`ScoreHistogramDisplay`: histograms of the anomaly scores of normal and
  anomalous clips, one panel per section (and domain), with the decision
  threshold;
- :class:`SpectrogramDisplay`: a clip's log-mel spectrogram before and after a
  spectrogram step such as :class:`~sklearn_asd.features.MedianFilter`;
- :class:`TrainingCurveDisplay`: the per-epoch loss terms in a fitted detector's
  ``history_``.

Every Display is built with a ``from_*`` class method (or its constructor plus
``plot``), draws on ``ax`` or on a new figure when ``ax=None``, returns itself,
keeps its artists in attributes ending with ``_`` and never calls
``plt.show()``. Scores use the DCASE sign (higher = more anomalous) and labels the
DCASE convention (1 = anomalous, 0 = normal).

matplotlib is an optional dependency (``pip install sklearn-asd[plot]``); this
package imports it only when something is drawn.
"""

from sklearn_asd.plotting._curve import ASDCurveDisplay
from sklearn_asd.plotting._histogram import ScoreHistogramDisplay
from sklearn_asd.plotting._spectrogram import SpectrogramDisplay
from sklearn_asd.plotting._training import TrainingCurveDisplay

__all__ = [
    "ASDCurveDisplay",
    "ScoreHistogramDisplay",
    "SpectrogramDisplay",
    "TrainingCurveDisplay",
]
