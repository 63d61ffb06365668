# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""k-nearest-neighbour outlier detector on clip features (the classical baseline)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_asd.utils._detector import (
    _CONTAMINATION,
    _FIT_DOMAINS,
    _FIT_RETURNS,
    _FIT_Y,
    _SCORE_SECTIONS,
    _AnomalyScoreMixin,
    _section_indices,
)
from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._neighbors import METHODS, METRICS, knn_anomaly_scores
from sklearn_asd.utils._threshold import _offset_from_scores
from sklearn_asd.utils._validation import (
    _check_section_labels,
    _class_indices,
    _training_mask,
)

__all__ = ["KNNDetector"]


@_substitute(contamination=_CONTAMINATION)
class KNNDetector(_AnomalyScoreMixin, OutlierMixin, BaseEstimator):
    """Outlier detector scoring clips by their distance to normal training clips.

    The anomaly score of a clip is its distance to its ``n_neighbors``-th nearest
    training clip (``method="largest"``) or its mean distance to the
    ``n_neighbors`` nearest (``method="mean"``), among the training clips of its
    own section. It takes any feature matrix, for example per-clip statistics::

        LogMelSpectrogram -> BandStatistics -> StandardScaler -> KNNDetector

    The API and sign conventions are those of
    :class:`~sklearn_asd.estimator.ContrastiveASDEstimator`: ``fit`` takes DCASE
    labels and ``sections`` (routed by metadata routing), ``anomaly_score`` is
    higher for anomalous clips, ``score_samples`` is its opposite,
    ``decision_function = score_samples - offset_`` and ``predict`` gives +1
    (normal) / -1 (anomalous).

    Training scores, from which ``offset_`` is set, are leave-one-out: a
    training clip never counts as its own neighbour (it would score 0). A clip
    identical to a training clip is scored as that clip, leave-one-out, so
    that ``predict`` on the training set flags the share ``contamination`` of
    it.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours. Capped at the number of training clips of the
        section minus one for the training scores, and at the number of
        training clips of the section for new clips.
    method : {"largest", "mean"}, default="largest"
        Distance to the k-th nearest training clip, or mean distance to the k
        nearest.
    metric : {"euclidean", "cosine", "manhattan"}, default="euclidean"
        Distance between feature vectors (``"cosine"``: one minus the cosine
        similarity).
    {contamination}

    Attributes
    ----------
    classes_ : ndarray of shape (n_sections,)
        Sections seen in ``fit`` (a single placeholder class ``0`` when fit
        without ``sections``).
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_samples_fit_ : int
        Number of training clips kept (clips labelled 1 are left out).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen in ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn_asd.features.BandStatistics : Per-clip features to score.
    sklearn_asd.estimator.ContrastiveASDEstimator : The neural detector.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd import KNNDetector
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> det = KNNDetector(n_neighbors=1).fit(X)
    >>> det.anomaly_score(np.array([[1.5], [10.0]]))
    array([0.5, 7. ])
    >>> det.predict(np.array([[1.5], [10.0]]))
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions(set(METHODS))],
        "metric": [StrOptions(set(METRICS))],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        method="largest",
        metric="euclidean",
        contamination="auto",
    ):
        self.n_neighbors = n_neighbors
        self.method = method
        self.metric = metric
        self.contamination = contamination

    @_substitute(y=_FIT_Y, domains=_FIT_DOMAINS, returns=_FIT_RETURNS)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sections=None, domains=None):
        """Store the normal training clips and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            Clip features.
        {y}
        sections : array-like of shape (n_clips,), default=None
            Section of each clip (any hashable labels): neighbours are searched
            among the training clips of the clip's own section. Routed by
            metadata routing.
        {domains}

        {returns}
        """
        with np.errstate(over="ignore", invalid="ignore"):  # sklearn's sum check
            X = validate_data(self, X, dtype=np.float64)
        n = X.shape[0]
        keep = _training_mask(y, n)
        if sections is None:
            raw = np.zeros(n, dtype=object)
        else:
            raw = _check_section_labels(sections, n)
        raw = raw[keep]
        classes, labels = _class_indices(raw.tolist())
        counts = np.bincount(labels, minlength=len(classes))
        if (counts < 2).any():
            lonely = [str(classes[i]) for i in np.flatnonzero(counts < 2)]
            where = "" if sections is None else f" of section(s) {lonely[:10]}"
            raise ValueError(
                f"KNNDetector needs at least 2 training clips per section (a clip "
                f"is not its own neighbour), got 1 sample{where}"
            )
        X = X[keep]
        train_scores = knn_anomaly_scores(
            X,
            labels,
            X,
            labels,
            n_neighbors=self.n_neighbors,
            method=self.method,
            metric=self.metric,
            leave_one_out=True,
        )
        self._check_finite(train_scores)
        self.classes_ = np.array(classes, dtype=object)
        self._fit_X = X
        self._fit_labels = labels
        self.n_samples_fit_ = X.shape[0]
        self.offset_ = _offset_from_scores(train_scores, self.contamination)
        return self

    @staticmethod
    def _check_finite(scores):
        bad = np.flatnonzero(~np.isfinite(scores))
        if bad.size:
            raise ValueError(
                f"KNNDetector computed non-finite anomaly scores for row(s) "
                f"{', '.join(map(str, bad[:10]))}: their distances exceed the "
                "float64 range (standardize the features, e.g. with StandardScaler)"
            )

    @_substitute(sections=_SCORE_SECTIONS)
    def anomaly_score(self, X, *, sections=None):
        """Compute the anomaly score of each clip (DCASE sign: higher = anomalous).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features)
            Clip features.
        {sections}

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            Distances to the nearest training clips.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):  # sklearn's sum check
            X = validate_data(self, X, dtype=np.float64, reset=False)
        idx = _section_indices(sections, X.shape[0], self.classes_, self.classes_)
        scores = knn_anomaly_scores(
            self._fit_X,
            self._fit_labels,
            X,
            idx,
            n_neighbors=self.n_neighbors,
            method=self.method,
            metric=self.metric,
        )
        self._check_finite(scores)
        return scores
