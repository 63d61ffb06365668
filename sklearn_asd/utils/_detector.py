# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The outlier-detector API shared by the package's detectors (private).

A detector defines ``anomaly_score(X, *, sections=None)`` (DCASE sign: higher =
more anomalous), ``offset_`` and ``fit``; :class:`_AnomalyScoreMixin` derives
the rest with IsolationForest's conventions. The docstring parts below are
the detectors' shared parameter texts (for ``_substitute``), and
:func:`_section_indices` their one reading of scoring-time sections.
"""

import numpy as np

from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._validation import _check_section_labels

__all__ = []

_FIT_Y = """
y : array-like of shape (n_clips,), default=None
    DCASE labels, 0 = normal, 1 = anomalous; clips labelled 1 are left out
    of training. ``None`` trains on every clip. Negative labels raise a
    ``ValueError``.
"""

_FIT_DOMAINS = """
domains : array-like of shape (n_clips,), default=None
    Accepted for API symmetry; training ignores it.
"""

_FIT_RETURNS = """
Returns
-------
self : object
    Fitted detector.
"""

_SCORE_SECTIONS = """
sections : array-like of shape (n_clips,), default=None
    Section of each clip, among ``classes_``. ``None`` scores each clip
    against its best-matching section (the smallest score).
"""

_CONTAMINATION = """
contamination : "auto" or float, default="auto"
    Sets ``offset_``: ``"auto"`` thresholds at the 0.9 quantile of a gamma
    distribution fitted to the training anomaly scores (the DCASE baseline's
    rule; the empirical 0.9 quantile if the fit fails or its threshold
    would flag more than half of the training clips); a float in (0, 0.5]
    is the fraction of training clips predicted anomalous.
"""

_X = """
X : array-like of shape (n_clips, n_features)
    The detector's input (flattened log-mel spectrograms, clip
    features).
"""

# Parameters of score_samples, decision_function and predict
_SCORING_PARAMETERS = (
    """
Parameters
----------"""
    + _X
    + """\
sections : array-like of shape (n_clips,), default=None
    Section of each clip; ``None`` uses the best-matching section.
"""
)


def _section_indices(sections, n_samples, classes, scored):
    """Return the indices into ``classes`` of scoring-time ``sections`` (or None).

    Raises a ValueError naming the unknown sections; ``scored`` are the
    classes the message lists as the ones to score with.
    """
    if sections is None:
        return None
    sections = _check_section_labels(sections, n_samples)
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted({str(s) for s in sections.tolist() if s not in index})
    if unknown:
        raise ValueError(
            f"unknown section(s) {unknown[:10]}: the detector was trained on "
            f"sections {scored.tolist()}"
        )
    return np.array([index[s] for s in sections.tolist()], dtype=np.int64)


class _AnomalyScoreMixin:
    """``score_samples``, ``decision_function``, ``predict``, ``fit_predict``.

    Also the detectors' metadata requests (``sections`` reach ``fit`` and the
    scoring methods through metadata routing by default) and tags.
    """

    __metadata_request__fit = {"sections": True, "domains": False}
    __metadata_request__score_samples = {"sections": True}
    __metadata_request__decision_function = {"sections": True}
    __metadata_request__predict = {"sections": True}

    @_substitute(parameters=_SCORING_PARAMETERS)
    def score_samples(self, X, *, sections=None):
        """Compute the normality score, the opposite of :meth:`anomaly_score`.

        {parameters}

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            Higher for more normal clips.
        """
        return -self.anomaly_score(X, sections=sections)

    @_substitute(parameters=_SCORING_PARAMETERS)
    def decision_function(self, X, *, sections=None):
        """Compute the shifted normality score, negative for predicted anomalies.

        {parameters}

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X, sections=sections) - self.offset_

    @_substitute(parameters=_SCORING_PARAMETERS)
    def predict(self, X, *, sections=None):
        """Predict +1 for normal clips and -1 for anomalous ones.

        {parameters}

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 (normal) or -1 (anomalous).
        """
        decision = self.decision_function(X, sections=sections)
        return np.where(decision < 0, -1, 1)

    @_substitute(X=_X, y=_FIT_Y, domains=_FIT_DOMAINS)
    def fit_predict(self, X, y=None, *, sections=None, domains=None):
        """Fit, then predict on the same clips.

        Parameters
        ----------
        {X}
        {y}
        sections : array-like of shape (n_clips,), default=None
            Class of each clip.
        {domains}

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 (normal) or -1 (anomalous).
        """
        return self.fit(X, y, sections=sections, domains=domains).predict(
            X, sections=sections
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
