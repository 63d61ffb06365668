# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Decision thresholds from training scores, shared by the detectors (private)."""

import warnings

import numpy as np
from scipy import stats

__all__ = []


def _seed_threshold(scores):
    """DCASE baseline threshold: 0.9 quantile of a gamma fit to training scores.

    The empirical 0.9 quantile replaces it when the fit fails, and when the
    fitted threshold would flag more than half of the training clips (a gamma
    whose location sits at the lowest score with a shape below 1, seen on small
    training sets: its 0.9 quantile fell below 97 % of the scores).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size >= 3 and np.ptp(scores) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                shape, loc, scale = stats.gamma.fit(scores)
                threshold = stats.gamma.ppf(0.9, shape, loc=loc, scale=scale)
            except Exception:  # scipy raises various errors on degenerate data
                threshold = np.nan
        if np.isfinite(threshold) and np.mean(scores > threshold) <= 0.5:
            return float(threshold)
    return float(np.quantile(scores, 0.9))


def _offset_from_scores(train_scores, contamination):
    """``offset_`` of a detector from its training clips' anomaly scores.

    ``contamination="auto"``: minus :func:`_seed_threshold`; a float: the
    quantile that predicts that fraction of the training clips anomalous.
    """
    if contamination == "auto":
        return -_seed_threshold(train_scores)
    return float(np.percentile(-np.asarray(train_scores), 100.0 * contamination))
