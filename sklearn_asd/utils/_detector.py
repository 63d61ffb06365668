# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The outlier-detector methods shared by the package's detectors (private).

A detector defines ``anomaly_score(X, *, sections=None)`` (DCASE sign: higher =
more anomalous), ``offset_`` and ``fit``; this mixin derives the rest with
IsolationForest's conventions.
"""

import numpy as np

__all__ = []


class _AnomalyScoreMixin:
    """``score_samples``, ``decision_function``, ``predict``, ``fit_predict``."""

    def score_samples(self, X, *, sections=None):
        """Compute the normality score, the opposite of :meth:`anomaly_score`.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            The detector's input (flattened log-mel spectrograms, clip
            features).
        sections : array-like of shape (n_clips,), default=None
            Section of each clip; ``None`` uses the best-matching section.

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            Higher for more normal clips.
        """
        return -self.anomaly_score(X, sections=sections)

    def decision_function(self, X, *, sections=None):
        """Compute the shifted normality score, negative for predicted anomalies.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            The detector's input (flattened log-mel spectrograms, clip
            features).
        sections : array-like of shape (n_clips,), default=None
            Section of each clip; ``None`` uses the best-matching section.

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X, sections=sections) - self.offset_

    def predict(self, X, *, sections=None):
        """Predict +1 for normal clips and -1 for anomalous ones.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            The detector's input (flattened log-mel spectrograms, clip
            features).
        sections : array-like of shape (n_clips,), default=None
            Section of each clip; ``None`` uses the best-matching section.

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 (normal) or -1 (anomalous).
        """
        decision = self.decision_function(X, sections=sections)
        return np.where(decision < 0, -1, 1)

    def fit_predict(self, X, y=None, *, sections=None, domains=None):
        """Fit, then predict on the same clips.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            The detector's input (flattened log-mel spectrograms, clip
            features).
        y : array-like of shape (n_clips,), default=None
            DCASE labels (0 normal, 1 anomalous); anomalies are left out of fit.
        sections : array-like of shape (n_clips,), default=None
            Class of each clip.
        domains : array-like of shape (n_clips,), default=None
            Ignored by training.

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 (normal) or -1 (anomalous).
        """
        return self.fit(X, y, sections=sections, domains=domains).predict(
            X, sections=sections
        )
