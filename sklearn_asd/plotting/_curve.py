# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""ASDCurveDisplay: ROC curve with the pAUC region (private)."""

from numbers import Real

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from sklearn_asd.metrics import partial_auc_score
from sklearn_asd.plotting._base import _DOCS, _display_doc, _DisplayMixin, _returns_doc
from sklearn_asd.utils._validation import (
    _check_binary_labels,
    _check_scores,
    _class_counts,
)

__all__ = ["ASDCurveDisplay"]

_MAX_FPR_DOC = """\
max_fpr : float, default=0.1
    Upper false-positive rate of the pAUC.
"""

_CURVE_KWARGS_DOC = """\
curve_kwargs : dict, default=None
    Keyword arguments of ``ax.plot`` for the curve.
region_kwargs : dict, default=None
    Keyword arguments of ``ax.fill_between`` for the pAUC region.
plot_chance_level : bool, default=False
    Draw the chance-level diagonal.
chance_level_kw : dict, default=None
    Keyword arguments of ``ax.plot`` for the chance-level line.
"""

#: The docstring parts from_predictions and from_estimator share.
_from_doc = _display_doc(
    "setup",
    max_fpr=_MAX_FPR_DOC,
    draw=_DOCS["ax"] + _CURVE_KWARGS_DOC,
    returns=_returns_doc("ASDCurveDisplay"),
)


def _check_max_fpr(max_fpr):
    if (
        isinstance(max_fpr, bool)
        or not isinstance(max_fpr, Real)
        or not 0 < max_fpr <= 1
    ):
        raise ValueError(f"max_fpr must be a float in (0, 1], got {max_fpr!r}")
    return float(max_fpr)


def _check_both_classes(y_true, caller):
    n_normal, n_anomalous = _class_counts(y_true)
    if n_normal == 0 or n_anomalous == 0:
        raise ValueError(
            f"{caller} needs both normal (0) and anomalous (1) clips in y; got "
            f"{n_normal} normal and {n_anomalous} anomalous clip(s)"
        )


@_display_doc("setup")
class ASDCurveDisplay(_DisplayMixin):
    """ROC curve with the pAUC region shaded, AUC and pAUC in the legend.

    The shaded region is the area under the ROC curve for false-positive rates
    in ``[0, max_fpr]``, the part of the curve the DCASE pAUC measures. The
    legend reports the AUC and the **McClish-standardized** pAUC
    (:func:`~sklearn_asd.metrics.partial_auc_score`, equal to
    ``roc_auc_score(y, s, max_fpr=max_fpr)``; chance = 0.5).

    Use :meth:`from_estimator` or :meth:`from_predictions` to build it; all
    parameters are stored as attributes.

    Parameters
    ----------
    fpr : ndarray of shape (n_thresholds,)
        False-positive rates (fraction of normal clips flagged).
    tpr : ndarray of shape (n_thresholds,)
        True-positive rates (fraction of anomalous clips flagged).
    roc_auc : float, default=None
        Area under the ROC curve, shown in the legend.
    pauc : float, default=None
        McClish-standardized partial AUC over ``[0, max_fpr]``, shown in the
        legend.
    max_fpr : float, default=0.1
        Upper false-positive rate of the shaded pAUC region (DCASE uses 0.1).
    name : str, default=None
        Name of the detector, shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The ROC curve.
    region_ : matplotlib PolyCollection
        The shaded pAUC region under the curve, spanning FPR ``[0, max_fpr]``.
    chance_level_ : matplotlib Line2D or None
        The chance-level diagonal, if plotted.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    sklearn.metrics.RocCurveDisplay : The scikit-learn ROC display.
    sklearn_asd.metrics.partial_auc_score : The pAUC shown in the legend.
    ScoreHistogramDisplay : Score distributions per section and domain.

    Examples
    --------
    {setup}
    >>> from sklearn_asd.plotting import ASDCurveDisplay
    >>> y = [0, 0, 0, 0, 1, 1]
    >>> scores = [0.1, 0.3, 0.2, 0.6, 0.5, 0.9]
    >>> display = ASDCurveDisplay.from_predictions(y, scores, name="detector")
    >>> display.line_.get_label()
    'detector (AUC = 0.875, pAUC = 0.737)'
    >>> plt.close("all")
    """

    def __init__(self, *, fpr, tpr, roc_auc=None, pauc=None, max_fpr=0.1, name=None):
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.pauc = pauc
        self.max_fpr = max_fpr
        self.name = name

    def _region(self, max_fpr):
        """Return the ROC curve for FPR in [0, max_fpr], interpolated at max_fpr."""
        fpr = np.asarray(self.fpr, dtype=np.float64)
        tpr = np.asarray(self.tpr, dtype=np.float64)
        stop = int(np.searchsorted(fpr, max_fpr, "right"))
        if stop >= fpr.shape[0]:
            return fpr, tpr
        # the same linear interpolation as roc_auc_score(max_fpr=...)
        y_end = np.interp(max_fpr, fpr[stop - 1 : stop + 1], tpr[stop - 1 : stop + 1])
        return np.append(fpr[:stop], max_fpr), np.append(tpr[:stop], y_end)

    @_display_doc(
        "ax",
        curve_kwargs=_CURVE_KWARGS_DOC,
        returns=_returns_doc("ASDCurveDisplay", "with its artists stored"),
    )
    def plot(
        self,
        ax=None,
        *,
        name=None,
        curve_kwargs=None,
        region_kwargs=None,
        plot_chance_level=False,
        chance_level_kw=None,
    ):
        """Draw the ROC curve and the shaded pAUC region.

        Parameters
        ----------
        {ax}
        name : str, default=None
            Legend name of the curve; ``None`` uses the ``name`` attribute.
        {curve_kwargs}

        {returns}
        """
        self._check_matplotlib("plot")
        max_fpr = _check_max_fpr(self.max_fpr)
        fpr = np.asarray(self.fpr, dtype=np.float64)
        tpr = np.asarray(self.tpr, dtype=np.float64)
        if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.shape[0] < 2:
            raise ValueError(
                "fpr and tpr must be 1-D arrays of the same length (at least 2 "
                f"points); got shapes {fpr.shape} and {tpr.shape}"
            )
        ax = self._one_axes(ax, "plot")
        self.ax_, self.figure_ = ax, ax.figure
        name = self.name if name is None else name

        metrics = []
        if self.roc_auc is not None:
            metrics.append(f"AUC = {self.roc_auc:.3f}")
        if self.pauc is not None:
            metrics.append(f"pAUC = {self.pauc:.3f}")
        label = ", ".join(metrics)
        if name is not None:
            label = f"{name} ({label})" if label else str(name)
        line_kw = {"label": label or None, **(curve_kwargs or {})}
        (self.line_,) = ax.plot(fpr, tpr, **line_kw)

        x, y = self._region(max_fpr)
        region_label = f"pAUC region (FPR \u2264 {max_fpr:g})"
        if any(c.get_label() == region_label for c in ax.collections):
            region_label = "_nolegend_"  # one legend entry for several curves
        fill_kw = {
            "alpha": 0.3,
            "color": self.line_.get_color(),
            "label": region_label,
            **(region_kwargs or {}),
        }
        self.region_ = ax.fill_between(x, 0.0, y, **fill_kw)

        if plot_chance_level:
            chance_kw = {
                "color": "k",
                "linestyle": "--",
                "label": "Chance level (AUC = 0.5)",
                **(chance_level_kw or {}),
            }
            (self.chance_level_,) = ax.plot((0, 1), (0, 1), **chance_kw)
        else:
            self.chance_level_ = None
        ax.set(
            xlabel="False positive rate (normal clips flagged)",
            ylabel="True positive rate (anomalies detected)",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            aspect="equal",
        )
        ax.legend(loc="lower right", fontsize="small")
        return self

    @classmethod
    @_display_doc("y_score")
    @_from_doc
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        max_fpr=0.1,
        name=None,
        ax=None,
        curve_kwargs=None,
        region_kwargs=None,
        plot_chance_level=False,
        chance_level_kw=None,
    ):
        """Plot the ROC curve of given anomaly scores.

        Parameters
        ----------
        y_true : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal (DCASE convention); both classes
            must be present.
        {y_score}
        {max_fpr}
        name : str, default=None
            Legend name of the curve.
        {draw}

        {returns}

        Examples
        --------
        {setup}
        >>> from sklearn_asd.plotting import ASDCurveDisplay
        >>> display = ASDCurveDisplay.from_predictions(
        ...     [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> round(display.roc_auc, 2), round(display.pauc, 4)
        (0.75, 0.7368)
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_predictions")
        max_fpr = _check_max_fpr(max_fpr)
        y_true = _check_binary_labels(y_true)
        y_score = _check_scores(y_score, y_true.shape[0])
        _check_both_classes(y_true, "ASDCurveDisplay")
        fpr, tpr, _ = roc_curve(y_true, y_score)
        display = cls(
            fpr=fpr,
            tpr=tpr,
            roc_auc=float(roc_auc_score(y_true, y_score)),
            pauc=partial_auc_score(y_true, y_score, max_fpr=max_fpr),
            max_fpr=max_fpr,
            name=name,
        )
        return display.plot(
            ax,
            curve_kwargs=curve_kwargs,
            region_kwargs=region_kwargs,
            plot_chance_level=plot_chance_level,
            chance_level_kw=chance_level_kw,
        )

    @classmethod
    @_display_doc("estimator")
    @_from_doc
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sections=None,
        max_fpr=0.1,
        name=None,
        ax=None,
        curve_kwargs=None,
        region_kwargs=None,
        plot_chance_level=False,
        chance_level_kw=None,
    ):
        """Plot the ROC curve of a fitted detector's anomaly scores.

        The scores are the detector's ``anomaly_score(X, sections=sections)``
        when it has one, else ``-decision_function(X)`` (else
        ``-score_samples(X)``): higher = more anomalous. For a Pipeline, ``X``
        goes through its leading steps and the last step scores it.

        Parameters
        ----------
        {estimator}
        y : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal; both classes must be present.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip, passed to ``anomaly_score``. A detector without
            ``anomaly_score`` cannot use them: giving them raises a
            ``ValueError``.
        {max_fpr}
        name : str, default=None
            Legend name; ``None`` uses the detector's class name.
        {draw}

        {returns}

        Examples
        --------
        {setup}
        >>> import numpy as np
        >>> from sklearn.ensemble import IsolationForest
        >>> from sklearn_asd.plotting import ASDCurveDisplay
        >>> rng = np.random.default_rng(0)
        >>> X_train = rng.normal(size=(50, 2))
        >>> normal, anomalous = rng.normal(0, 0.3, (20, 2)), rng.normal(8, 0.5, (5, 2))
        >>> X_test = np.r_[normal, anomalous]
        >>> y_test = np.r_[np.zeros(20), np.ones(5)]
        >>> detector = IsolationForest(random_state=0).fit(X_train)
        >>> display = ASDCurveDisplay.from_estimator(detector, X_test, y_test)
        >>> display.line_.get_label()
        'IsolationForest (AUC = 1.000, pAUC = 1.000)'
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_estimator")
        scores, detector = cls._estimator_scores(estimator, X, sections)
        return cls.from_predictions(
            y,
            scores,
            max_fpr=max_fpr,
            name=cls._estimator_name(detector, name),
            ax=ax,
            curve_kwargs=curve_kwargs,
            region_kwargs=region_kwargs,
            plot_chance_level=plot_chance_level,
            chance_level_kw=chance_level_kw,
        )
