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
module imports it only when something is drawn.
"""

from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.metrics import partial_auc_score
from sklearn_asd.utils._response import _anomaly_scores, _anomaly_threshold
from sklearn_asd.utils._validation import (
    _check_binary_labels,
    _check_groups,
    _check_scores,
)

__all__ = [
    "ASDCurveDisplay",
    "ScoreHistogramDisplay",
    "SpectrogramDisplay",
    "TrainingCurveDisplay",
]


#: Panels per row of ScoreHistogramDisplay when no domains are given.
_MAX_COLUMNS = 4


# --------------------------------------------------------------------- helpers
def _check_matplotlib(caller):
    """Import matplotlib or raise an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of sklearn-asd. "
            'Install it with: pip install "sklearn-asd[plot]" (or pip install '
            "matplotlib)"
        ) from exc


def _new_axes(nrows=1, ncols=1, **kwargs):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _check_axes(ax, n_panels, caller):
    """Return the Axes given by the user as a flat object array of ``n_panels``."""
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        axes = np.array([ax], dtype=object)
    else:
        try:
            axes = np.asarray(ax, dtype=object).ravel()
        except Exception:  # not array-like
            axes = np.array([ax], dtype=object)
    if axes.size != n_panels or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(
            f"{caller} draws {n_panels} panel(s): ax must be None (a new figure), "
            f"{'a matplotlib Axes or ' if n_panels == 1 else ''}an array of "
            f"{n_panels} matplotlib Axes; got {type(ax).__name__}"
            + (f" of size {axes.size}" if axes.size != 1 else "")
        )
    return axes


def _split_estimator(estimator):
    """Return ``(front, detector)``: a pipeline's leading steps and last step."""
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"expected a fitted detector or Pipeline, got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    steps = getattr(estimator, "steps", None)
    if steps:
        front = estimator[:-1] if len(steps) > 1 else None
        return front, estimator[-1]
    return None, estimator


def _estimator_scores(estimator, X, sections, *, sections_if_usable=False):
    """DCASE-sign scores of a fitted detector or pipeline, and its detector.

    With ``sections_if_usable=True`` the sections are passed only to a detector
    that has ``anomaly_score`` (they still group the plot); otherwise a detector
    that cannot use them raises a ``ValueError``.
    """
    front, detector = _split_estimator(estimator)
    if sections_if_usable and not hasattr(detector, "anomaly_score"):
        sections = None
    if front is not None:
        X = front.transform(X)
    return _anomaly_scores(detector, X, sections=sections), detector


def _estimator_name(detector, name):
    return type(detector).__name__ if name is None else name


def _check_max_fpr(max_fpr):
    if (
        isinstance(max_fpr, bool)
        or not isinstance(max_fpr, Real)
        or not 0 < max_fpr <= 1
    ):
        raise ValueError(f"max_fpr must be a float in (0, 1], got {max_fpr!r}")
    return float(max_fpr)


def _check_both_classes(y_true, caller):
    n_anomalous = int(y_true.sum())
    n_normal = y_true.shape[0] - n_anomalous
    if n_normal == 0 or n_anomalous == 0:
        raise ValueError(
            f"{caller} needs both normal (0) and anomalous (1) clips in y; got "
            f"{n_normal} normal and {n_anomalous} anomalous clip(s)"
        )


# ------------------------------------------------------------- ASDCurveDisplay
class ASDCurveDisplay:
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
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
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
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        name : str, default=None
            Legend name of the curve; ``None`` uses the ``name`` attribute.
        curve_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the curve.
        region_kwargs : dict, default=None
            Keyword arguments of ``ax.fill_between`` for the pAUC region.
        plot_chance_level : bool, default=False
            Draw the chance-level diagonal.
        chance_level_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the chance-level line.

        Returns
        -------
        display : ASDCurveDisplay
            The display, with its artists stored.
        """
        _check_matplotlib("ASDCurveDisplay.plot")
        max_fpr = _check_max_fpr(self.max_fpr)
        fpr = np.asarray(self.fpr, dtype=np.float64)
        tpr = np.asarray(self.tpr, dtype=np.float64)
        if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.shape[0] < 2:
            raise ValueError(
                "fpr and tpr must be 1-D arrays of the same length (at least 2 "
                f"points); got shapes {fpr.shape} and {tpr.shape}"
            )
        if ax is None:
            ax = _new_axes()[1][0, 0]
        else:
            ax = _check_axes(ax, 1, "ASDCurveDisplay.plot")[0]
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
        y_score : array-like of shape (n_clips,)
            Anomaly scores, higher = more anomalous.
        max_fpr : float, default=0.1
            Upper false-positive rate of the pAUC.
        name : str, default=None
            Legend name of the curve.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        curve_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the curve.
        region_kwargs : dict, default=None
            Keyword arguments of ``ax.fill_between`` for the pAUC region.
        plot_chance_level : bool, default=False
            Draw the chance-level diagonal.
        chance_level_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the chance-level line.

        Returns
        -------
        display : ASDCurveDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_asd.plotting import ASDCurveDisplay
        >>> display = ASDCurveDisplay.from_predictions(
        ...     [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> round(display.roc_auc, 2), round(display.pauc, 4)
        (0.75, 0.7368)
        >>> plt.close("all")
        """
        _check_matplotlib("ASDCurveDisplay.from_predictions")
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
        estimator : estimator or Pipeline
            Fitted detector, or a fitted Pipeline ending with one.
        X : array-like
            Input of the estimator (features, or file paths for a pipeline that
            starts with :class:`~sklearn_asd.features.AudioLoader`).
        y : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal; both classes must be present.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip, passed to ``anomaly_score``. A detector without
            ``anomaly_score`` cannot use them: giving them raises a
            ``ValueError``.
        max_fpr : float, default=0.1
            Upper false-positive rate of the pAUC.
        name : str, default=None
            Legend name; ``None`` uses the detector's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        curve_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the curve.
        region_kwargs : dict, default=None
            Keyword arguments of ``ax.fill_between`` for the pAUC region.
        plot_chance_level : bool, default=False
            Draw the chance-level diagonal.
        chance_level_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the chance-level line.

        Returns
        -------
        display : ASDCurveDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
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
        _check_matplotlib("ASDCurveDisplay.from_estimator")
        scores, detector = _estimator_scores(estimator, X, sections)
        return cls.from_predictions(
            y,
            scores,
            max_fpr=max_fpr,
            name=_estimator_name(detector, name),
            ax=ax,
            curve_kwargs=curve_kwargs,
            region_kwargs=region_kwargs,
            plot_chance_level=plot_chance_level,
            chance_level_kw=chance_level_kw,
        )


# ------------------------------------------------------- ScoreHistogramDisplay
class ScoreHistogramDisplay:
    """Histograms of anomaly scores of normal vs anomalous clips, per group.

    One panel per section (rows) and domain (columns), each with the histogram
    of the normal clips' scores, the histogram of the anomalous clips' scores
    (same bin edges everywhere) and a vertical line at the decision threshold:
    clips scoring above it are predicted anomalous.

    Use :meth:`from_estimator` or :meth:`from_predictions` to build it.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        Labels: 1 = anomalous, 0 = normal (DCASE convention). One class alone
        is allowed (e.g. the training normals).
    y_score : array-like of shape (n_clips,)
        Anomaly scores, higher = more anomalous.
    sections : array-like of shape (n_clips,), default=None
        Section of each clip: one row of panels per section.
    domains : array-like of shape (n_clips,), default=None
        Domain of each clip (e.g. ``"source"``/``"target"``): one column of
        panels per domain.
    threshold : float, default=None
        Decision threshold in score units; ``None`` draws no line.
    name : str, default=None
        Name of the detector, shown in the figure title.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        The panels: (n_sections, n_domains) when domains are given, else the
        sections in rows of up to 4 panels (unused Axes hidden); a single
        panel when neither is given. With ``ax`` given, ``ax`` as an array.
    panels_ : dict
        ``(section, domain) -> Axes`` for every drawn panel (``None`` keys for
        groupings not given).
    normal_bars_ : dict
        ``(section, domain) -> BarContainer`` of the normal clips' histogram,
        or ``None`` when the group holds no normal clip.
    anomalous_bars_ : dict
        The same for the anomalous clips.
    threshold_lines_ : dict
        ``(section, domain) -> Line2D`` of the threshold, or ``None``.
    bin_edges_ : ndarray
        Bin edges shared by every histogram.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    ASDCurveDisplay : ROC curve with the pAUC region.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn_asd.plotting import ScoreHistogramDisplay
    >>> y = [0, 0, 0, 1, 0, 0, 1, 1]
    >>> scores = [0.1, 0.2, 0.3, 0.9, 0.2, 0.4, 0.7, 0.8]
    >>> sections = ["00"] * 4 + ["01"] * 4
    >>> display = ScoreHistogramDisplay.from_predictions(
    ...     y, scores, sections=sections, threshold=0.5, bins=[0, 0.25, 0.5, 0.75, 1])
    >>> display.axes_.shape
    (1, 2)
    >>> [int(b.get_height()) for b in display.normal_bars_[("00", None)]]
    [2, 1, 0, 0]
    >>> plt.close("all")
    """

    def __init__(
        self,
        *,
        y_true,
        y_score,
        sections=None,
        domains=None,
        threshold=None,
        name=None,
    ):
        self.y_true = y_true
        self.y_score = y_score
        self.sections = sections
        self.domains = domains
        self.threshold = threshold
        self.name = name

    def plot(
        self,
        ax=None,
        *,
        bins=20,
        density=False,
        hist_kwargs=None,
        threshold_kwargs=None,
    ):
        """Draw one histogram panel per section and domain.

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            One Axes per panel (``n_sections * n_domains``, row-major: the
            domains of the first section, then of the second...); ``None``
            creates a new figure.
        bins : int, sequence or str, default=20
            Bins, as :func:`numpy.histogram_bin_edges` takes them; the edges
            are computed once over all scores and shared by every panel.
        density : bool, default=False
            Normalise each histogram to unit area (compare classes of very
            different sizes) instead of counting clips.
        hist_kwargs : dict, default=None
            Extra keyword arguments of ``ax.hist``.
        threshold_kwargs : dict, default=None
            Extra keyword arguments of ``ax.axvline`` for the threshold.

        Returns
        -------
        display : ScoreHistogramDisplay
            The display, with its artists stored.
        """
        _check_matplotlib("ScoreHistogramDisplay.plot")
        y = _check_binary_labels(self.y_true)
        if y.shape[0] == 0:
            raise ValueError("ScoreHistogramDisplay got no clips")
        scores = _check_scores(self.y_score, y.shape[0])
        sec_keys, sec_codes = _check_groups(self.sections, y.shape[0], "sections")
        dom_keys, dom_codes = _check_groups(self.domains, y.shape[0], "domains")
        threshold = self.threshold
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, Real):
                raise TypeError(
                    f"threshold must be a number or None, got {threshold!r}"
                )
            threshold = float(threshold)
        edges = np.histogram_bin_edges(scores, bins=bins)

        if self.domains is None:
            # no domains: the sections in rows of at most _MAX_COLUMNS panels
            keys = [(s, None) for s in sec_keys]
            codes = [(i, 0) for i in range(len(sec_keys))]
            n_cols = min(len(keys), _MAX_COLUMNS)
            n_rows = -(-len(keys) // n_cols)
        else:
            keys = [(s, d) for s in sec_keys for d in dom_keys]
            codes = [(i, j) for i in range(len(sec_keys)) for j in range(len(dom_keys))]
            n_rows, n_cols = len(sec_keys), len(dom_keys)
        if ax is None:
            fig, axes = _new_axes(
                n_rows,
                n_cols,
                sharex=True,
                figsize=(3.6 * n_cols + 0.6, 2.8 * n_rows + 0.6),
                layout="constrained",
            )
            for unused in axes.ravel()[len(keys) :]:
                unused.set_visible(False)
        else:
            flat = _check_axes(ax, len(keys), "ScoreHistogramDisplay.plot")
            axes = flat.reshape(np.shape(ax) if np.ndim(ax) else (1, 1))
            fig = flat[0].figure
        flat_axes = axes.ravel()
        self.axes_, self.figure_, self.bin_edges_ = axes, fig, edges
        self.panels_, self.normal_bars_, self.anomalous_bars_ = {}, {}, {}
        self.threshold_lines_ = {}
        hist_kw = {"alpha": 0.5, "density": density, **(hist_kwargs or {})}
        line_kw = {
            "color": "k",
            "linestyle": "--",
            "label": None if threshold is None else f"threshold = {threshold:.3g}",
            **(threshold_kwargs or {}),
        }
        for panel, key, (si, di) in zip(flat_axes, keys, codes):
            in_group = (sec_codes == si) & (dom_codes == di)
            bars = {}
            for label, value, color in (
                ("normal", 0, "C0"),
                ("anomalous", 1, "C3"),
            ):
                values = scores[in_group & (y == value)]
                if values.size == 0:
                    bars[label] = None
                    continue
                kw = {
                    "bins": edges,
                    "color": color,
                    "label": f"{label} (n={values.size})",
                    **hist_kw,
                }
                *_, bars[label] = panel.hist(values, **kw)
            self.normal_bars_[key] = bars["normal"]
            self.anomalous_bars_[key] = bars["anomalous"]
            self.threshold_lines_[key] = (
                None if threshold is None else panel.axvline(threshold, **line_kw)
            )
            self.panels_[key] = panel
            title = ", ".join(
                part
                for part in (
                    None if key[0] is None else f"section {key[0]}",
                    None if key[1] is None else str(key[1]),
                )
                if part is not None
            )
            if not in_group.any():
                title = f"{title} (no clips)" if title else "no clips"
            panel.set_title(title or "all clips", fontsize="medium")
            panel.set_ylabel("density" if density else "clips")
            panel.set_xlabel("anomaly score")
            if in_group.any():
                panel.legend(fontsize="small")
        if self.name is not None:
            fig.suptitle(str(self.name))
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        sections=None,
        domains=None,
        threshold=None,
        name=None,
        ax=None,
        bins=20,
        density=False,
        hist_kwargs=None,
        threshold_kwargs=None,
    ):
        """Plot the score histograms of given anomaly scores.

        Parameters
        ----------
        y_true : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal.
        y_score : array-like of shape (n_clips,)
            Anomaly scores, higher = more anomalous.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip (one row of panels each).
        domains : array-like of shape (n_clips,), default=None
            Domain of each clip (one column of panels each).
        threshold : float, default=None
            Decision threshold; ``None`` draws no line.
        name : str, default=None
            Figure title.
        ax : matplotlib Axes or array of Axes, default=None
            One Axes per panel; ``None`` creates a new figure.
        bins : int, sequence or str, default=20
            Bins shared by every panel (see :meth:`plot`).
        density : bool, default=False
            Normalise each histogram to unit area.
        hist_kwargs : dict, default=None
            Extra keyword arguments of ``ax.hist``.
        threshold_kwargs : dict, default=None
            Extra keyword arguments of ``ax.axvline``.

        Returns
        -------
        display : ScoreHistogramDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_asd.plotting import ScoreHistogramDisplay
        >>> display = ScoreHistogramDisplay.from_predictions(
        ...     [0, 0, 1], [0.1, 0.2, 0.9], domains=["source", "target", "source"])
        >>> sorted(display.panels_)
        [(None, 'source'), (None, 'target')]
        >>> plt.close("all")
        """
        _check_matplotlib("ScoreHistogramDisplay.from_predictions")
        display = cls(
            y_true=y_true,
            y_score=y_score,
            sections=sections,
            domains=domains,
            threshold=threshold,
            name=name,
        )
        return display.plot(
            ax,
            bins=bins,
            density=density,
            hist_kwargs=hist_kwargs,
            threshold_kwargs=threshold_kwargs,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sections=None,
        domains=None,
        threshold="auto",
        name=None,
        ax=None,
        bins=20,
        density=False,
        hist_kwargs=None,
        threshold_kwargs=None,
    ):
        """Plot the score histograms of a fitted detector.

        Scores as in :meth:`ASDCurveDisplay.from_estimator` (``anomaly_score``,
        else ``-decision_function``, else ``-score_samples``).

        Parameters
        ----------
        estimator : estimator or Pipeline
            Fitted detector, or a fitted Pipeline ending with one.
        X : array-like
            Input of the estimator.
        y : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip: groups the panels, and is passed to the
            detector's ``anomaly_score`` when it has one.
        domains : array-like of shape (n_clips,), default=None
            Domain of each clip (one column of panels each).
        threshold : "auto", float or None, default="auto"
            ``"auto"``: the detector's own threshold, where ``predict`` switches
            to -1; for the sklearn_asd detectors that is ``-offset_`` in
            ``anomaly_score`` units, for a detector scored by
            ``-decision_function`` it is 0 (no line when the detector defines
            none). A float draws the line there; ``None`` draws no line.
        name : str, default=None
            Figure title; ``None`` uses the detector's class name.
        ax : matplotlib Axes or array of Axes, default=None
            One Axes per panel; ``None`` creates a new figure.
        bins : int, sequence or str, default=20
            Bins shared by every panel.
        density : bool, default=False
            Normalise each histogram to unit area.
        hist_kwargs : dict, default=None
            Extra keyword arguments of ``ax.hist``.
        threshold_kwargs : dict, default=None
            Extra keyword arguments of ``ax.axvline``.

        Returns
        -------
        display : ScoreHistogramDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from sklearn.ensemble import IsolationForest
        >>> from sklearn_asd.plotting import ScoreHistogramDisplay
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(size=(30, 2)), rng.normal(4, 1, size=(6, 2))]
        >>> y = np.r_[np.zeros(30), np.ones(6)]
        >>> detector = IsolationForest(random_state=0).fit(X[:30])
        >>> display = ScoreHistogramDisplay.from_estimator(detector, X, y)
        >>> display.threshold  # -decision_function > 0 is predicted anomalous
        0.0
        >>> plt.close("all")
        """
        _check_matplotlib("ScoreHistogramDisplay.from_estimator")
        if not (
            threshold is None
            or (isinstance(threshold, str) and threshold == "auto")
            or (isinstance(threshold, Real) and not isinstance(threshold, bool))
        ):
            raise ValueError(
                f'threshold must be "auto", a number or None, got {threshold!r}'
            )
        scores, detector = _estimator_scores(
            estimator, X, sections, sections_if_usable=True
        )
        if isinstance(threshold, str):
            threshold = _anomaly_threshold(detector)
        return cls.from_predictions(
            y,
            scores,
            sections=sections,
            domains=domains,
            threshold=threshold,
            name=_estimator_name(detector, name),
            ax=ax,
            bins=bins,
            density=density,
            hist_kwargs=hist_kwargs,
            threshold_kwargs=threshold_kwargs,
        )


# ---------------------------------------------------------- SpectrogramDisplay
class SpectrogramDisplay:
    """Spectrograms side by side, e.g. before and after a median filter.

    Draws each spectrogram (mel bands x frames) as an image with a shared colour
    scale, so that what a filter removes is visible. :meth:`from_transformers`
    computes the "original / processed" pair of one clip with a fitted
    :class:`~sklearn_asd.features.LogMelSpectrogram` and a fitted spectrogram
    step such as :class:`~sklearn_asd.features.MedianFilter`.

    Parameters
    ----------
    spectrograms : list of ndarray of shape (n_mels, n_frames)
        Spectrograms to show, left to right.
    titles : list of str, default=None
        Title of each panel.
    sr : int, default=None
        Sample rate; with ``hop_length`` it puts the time axis in seconds
        (frames otherwise).
    hop_length : int, default=None
        Hop between frames, in samples.

    Attributes
    ----------
    images_ : list of matplotlib AxesImage
        One image per spectrogram; ``images_[i].get_array()`` is
        ``spectrograms[i]``.
    axes_ : ndarray of matplotlib Axes
        One Axes per spectrogram.
    colorbar_ : matplotlib Colorbar or None
        The shared colour bar, if drawn.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    sklearn_asd.features.MedianFilter : The seed's short-time noise filter.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklearn_asd.plotting import SpectrogramDisplay
    >>> S = np.zeros((4, 10))
    >>> S[1, 5] = 30.0  # a one-frame click
    >>> display = SpectrogramDisplay(
    ...     spectrograms=[S, np.zeros((4, 10))], titles=["click", "filtered"]
    ... ).plot()
    >>> len(display.images_), float(display.images_[0].get_array().max())
    (2, 30.0)
    >>> plt.close("all")
    """

    def __init__(self, *, spectrograms, titles=None, sr=None, hop_length=None):
        self.spectrograms = spectrograms
        self.titles = titles
        self.sr = sr
        self.hop_length = hop_length

    def plot(self, ax=None, *, cmap="magma", colorbar=True, vmin=None, vmax=None):
        """Draw the spectrograms with a shared colour scale.

        Parameters
        ----------
        ax : array of matplotlib Axes, default=None
            One Axes per spectrogram; ``None`` creates a new figure.
        cmap : str or Colormap, default="magma"
            Colour map.
        colorbar : bool, default=True
            Draw one colour bar for all panels (in dB for log-mel input).
        vmin, vmax : float, default=None
            Colour limits; ``None`` uses the minimum / maximum over all
            spectrograms.

        Returns
        -------
        display : SpectrogramDisplay
            The display, with its artists stored.
        """
        _check_matplotlib("SpectrogramDisplay.plot")
        if isinstance(self.spectrograms, np.ndarray) and self.spectrograms.ndim == 2:
            raise ValueError(
                "spectrograms must be a list of 2-D arrays; wrap a single "
                "spectrogram in a list"
            )
        specs = [
            check_array(S, dtype=np.float64, input_name="spectrogram")
            for S in self.spectrograms
        ]
        if not specs:
            raise ValueError("SpectrogramDisplay got no spectrogram")
        titles = self.titles
        if titles is not None and len(titles) != len(specs):
            raise ValueError(
                f"{len(titles)} titles for {len(specs)} spectrograms: give one "
                "title per spectrogram"
            )
        n = len(specs)
        if ax is None:
            fig, axes = _new_axes(
                1,
                n,
                sharey=True,
                figsize=(4.0 * n + 1.0, 3.2),
                layout="constrained",
            )
            axes = axes[0]
        else:
            axes = _check_axes(ax, n, "SpectrogramDisplay.plot")
            fig = axes[0].figure
        lo = min(S.min() for S in specs) if vmin is None else vmin
        hi = max(S.max() for S in specs) if vmax is None else vmax
        self.images_ = []
        seconds = self.sr is not None and self.hop_length is not None
        for i, (panel, S) in enumerate(zip(axes, specs)):
            n_mels, n_frames = S.shape
            width = n_frames * self.hop_length / self.sr if seconds else n_frames
            image = panel.imshow(
                S,
                origin="lower",
                aspect="auto",
                interpolation="nearest",
                cmap=cmap,
                vmin=lo,
                vmax=hi,
                extent=(0, width, 0, n_mels),
            )
            self.images_.append(image)
            panel.set_xlabel("time (s)" if seconds else "frame")
            if i == 0:
                panel.set_ylabel("mel band")
            if titles is not None:
                panel.set_title(str(titles[i]))
        self.colorbar_ = (
            fig.colorbar(self.images_[-1], ax=list(axes), label="dB")
            if colorbar
            else None
        )
        self.axes_, self.figure_ = np.asarray(axes, dtype=object), fig
        return self

    @classmethod
    def from_transformers(
        cls,
        mel,
        median_filter,
        waveform,
        *,
        titles=("original", "processed"),
        ax=None,
        cmap="magma",
        colorbar=True,
    ):
        """Show one clip's log-mel spectrogram before and after a filter step.

        Parameters
        ----------
        mel : LogMelSpectrogram
            Fitted transformer from waveforms to flattened spectrograms; its
            ``n_mels_`` and ``n_frames_`` give the layout.
        median_filter : transformer or None
            Fitted spectrogram-to-spectrogram step applied to ``mel``'s output,
            e.g. :class:`~sklearn_asd.features.MedianFilter` (with the same
            ``n_mels``); ``None`` shows the original alone.
        waveform : array-like of shape (n_samples,) or (1, n_samples)
            One clip, as ``mel`` was fitted on.
        titles : tuple of str, default=("original", "processed")
            Panel titles.
        ax : array of matplotlib Axes, default=None
            One Axes per panel; ``None`` creates a new figure.
        cmap : str or Colormap, default="magma"
            Colour map.
        colorbar : bool, default=True
            Draw a shared colour bar.

        Returns
        -------
        display : SpectrogramDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from sklearn_asd.features import LogMelSpectrogram, MedianFilter
        >>> from sklearn_asd.plotting import SpectrogramDisplay
        >>> wave = np.random.default_rng(0).normal(size=(1, 4000)).astype("float32")
        >>> wave[0, 2000:2010] += 20.0  # a click
        >>> mel = LogMelSpectrogram(n_mels=16, n_fft=256, hop_length=128).fit(wave)
        >>> mf = MedianFilter(n_mels=16).fit(mel.transform(wave))
        >>> display = SpectrogramDisplay.from_transformers(mel, mf, wave)
        >>> [im.get_array().shape for im in display.images_]
        [(16, 32), (16, 32)]
        >>> plt.close("all")
        """
        _check_matplotlib("SpectrogramDisplay.from_transformers")
        check_is_fitted(mel)
        n_mels = getattr(mel, "n_mels_", None)
        n_frames = getattr(mel, "n_frames_", None)
        if not isinstance(n_mels, Integral) or not isinstance(n_frames, Integral):
            raise TypeError(
                "mel must be a fitted transformer that records its output layout "
                f"in n_mels_ and n_frames_ (LogMelSpectrogram); got "
                f"{type(mel).__name__}"
            )
        if median_filter is not None:
            check_is_fitted(median_filter)
        wave = np.asarray(waveform)
        if wave.ndim == 1:
            wave = wave[None, :]
        if wave.ndim != 2 or wave.shape[0] != 1:
            raise ValueError(
                "waveform must be one clip, of shape (n_samples,) or (1, n_samples); "
                f"got shape {np.shape(waveform)}"
            )
        X = mel.transform(wave)
        specs = [np.asarray(X).reshape(n_mels, n_frames)]
        if median_filter is not None:
            X_out = np.asarray(median_filter.transform(X))
            if X_out.shape != X.shape:
                raise ValueError(
                    f"{type(median_filter).__name__} returned {X_out.shape[1]} "
                    f"features for a spectrogram of {X.shape[1]} ({n_mels} mel "
                    f"bands x {n_frames} frames): median_filter must return a "
                    "spectrogram of the same shape (e.g. MedianFilter)"
                )
            specs.append(X_out.reshape(n_mels, n_frames))
        titles = None if titles is None else list(titles)[: len(specs)]
        display = cls(
            spectrograms=specs,
            titles=titles,
            sr=getattr(mel, "sr", None),
            hop_length=getattr(mel, "hop_length", None),
        )
        return display.plot(ax, cmap=cmap, colorbar=colorbar)


# -------------------------------------------------------- TrainingCurveDisplay
def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _default_loss_keys(rows):
    keys = []
    for row in rows:
        for key, value in row.items():
            if (
                key.startswith(("train_", "valid_"))
                and not key.endswith(("_best", "_batch_count"))
                and _is_number(value)
                and key not in keys
            ):
                keys.append(key)
    return keys


class TrainingCurveDisplay:
    """Loss terms per epoch of a trained neural detector.

    One line per recorded term: the total ``loss`` and, for
    :class:`~sklearn_asd.ContrastiveASDEstimator`, the unweighted
    cross-entropy ``ce``, reconstruction ``recon`` and contrastive ``con``
    terms; training terms solid, validation terms (``validation_fraction``)
    dashed in the same colour.

    Use :meth:`from_estimator` (or :meth:`from_history`) to build it.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
        Epoch numbers.
    losses : dict of str to array-like of shape (n_epochs,)
        Values per epoch of each history key (``NaN`` where an epoch did not
        record it).
    name : str, default=None
        Axes title.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        One line per history key.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    sklearn_asd.ContrastiveASDEstimator : Records these terms in ``history_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn_asd.plotting import TrainingCurveDisplay
    >>> display = TrainingCurveDisplay(
    ...     epochs=[1, 2, 3], losses={"train_loss": [2.0, 1.5, 1.2]}).plot()
    >>> display.lines_["train_loss"].get_ydata().tolist()
    [2.0, 1.5, 1.2]
    >>> plt.close("all")
    """

    def __init__(self, *, epochs, losses, name=None):
        self.epochs = epochs
        self.losses = losses
        self.name = name

    def plot(self, ax=None, *, name=None, logy=False):
        """Draw one line per loss term.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        name : str, default=None
            Axes title; ``None`` uses the ``name`` attribute.
        logy : bool, default=False
            Logarithmic loss axis (all plotted values must then be positive; the
            seed's contrastive term can be negative).

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with its artists stored.
        """
        _check_matplotlib("TrainingCurveDisplay.plot")
        epochs = np.asarray(self.epochs, dtype=np.float64).reshape(-1)
        if not isinstance(self.losses, Mapping) or not self.losses:
            raise ValueError(
                "losses must be a non-empty dict of history key -> values per epoch"
            )
        curves = {}
        for key, values in self.losses.items():
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.shape != epochs.shape:
                raise ValueError(
                    f"losses[{key!r}] has {values.size} values for {epochs.size} epochs"
                )
            curves[key] = values
        if logy:
            bad = [k for k, v in curves.items() if (v[np.isfinite(v)] <= 0).any()]
            if bad:
                raise ValueError(
                    f"logy=True needs positive losses, but {bad} hold values <= 0"
                )
        if ax is None:
            ax = _new_axes(figsize=(7.5, 4.2), layout="constrained")[1][0, 0]
        else:
            ax = _check_axes(ax, 1, "TrainingCurveDisplay.plot")[0]
        self.ax_, self.figure_ = ax, ax.figure
        terms = []
        for key in curves:
            term = key.split("_", 1)[1] if key.startswith(("train_", "valid_")) else key
            if term not in terms:
                terms.append(term)
        self.lines_ = {}
        for key, values in curves.items():
            term = key.split("_", 1)[1] if key.startswith(("train_", "valid_")) else key
            (self.lines_[key],) = ax.plot(
                epochs,
                values,
                color=f"C{terms.index(term) % 10}",
                linestyle="--" if key.startswith("valid_") else "-",
                marker="o",
                markersize=3,
                label=key,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if logy:
            ax.set_yscale("log")
        name = self.name if name is None else name
        if name is not None:
            ax.set_title(str(name))
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
        return self

    @classmethod
    def from_history(cls, history, *, keys=None, name=None, ax=None, logy=False):
        """Plot loss terms from a skorch ``History`` (or a list of dicts).

        Parameters
        ----------
        history : skorch.callbacks.History or list of dict
            One dict per epoch.
        keys : list of str, default=None
            History keys to plot; ``None`` plots every numeric ``train_*`` and
            ``valid_*`` entry except the ``*_best`` flags and batch counts.
        name : str, default=None
            Axes title.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        logy : bool, default=False
            Logarithmic loss axis.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_asd.plotting import TrainingCurveDisplay
        >>> history = [{"epoch": 1, "train_loss": 1.0, "train_loss_best": True},
        ...            {"epoch": 2, "train_loss": 0.5, "train_loss_best": True}]
        >>> sorted(TrainingCurveDisplay.from_history(history).lines_)
        ['train_loss']
        >>> plt.close("all")
        """
        _check_matplotlib("TrainingCurveDisplay.from_history")
        if isinstance(history, (str, bytes, Mapping)) or not hasattr(
            history, "__iter__"
        ):
            raise TypeError(
                "history must be a skorch History or a list of one dict per "
                f"epoch, got {type(history).__name__}"
            )
        rows = list(history)
        if not rows:
            raise ValueError("the history is empty: no epoch was recorded")
        if not all(isinstance(row, Mapping) for row in rows):
            raise TypeError("every entry of history must be a dict (one per epoch)")
        available = _default_loss_keys(rows)
        if keys is None:
            keys = available
            if not keys:
                raise ValueError(
                    "the history records no train_* or valid_* loss; keys found: "
                    f"{sorted({k for row in rows for k in row})}"
                )
        else:
            if isinstance(keys, str):
                keys = [keys]
            keys = list(keys)
            recorded = {k for row in rows for k in row}
            missing = [k for k in keys if k not in recorded]
            if not keys or missing:
                raise ValueError(
                    f"history keys {missing or keys} not recorded; available loss "
                    f"keys: {available}"
                )
        losses = {}
        for key in keys:
            values = []
            for row in rows:
                value = row.get(key, np.nan)
                if not _is_number(value):
                    raise ValueError(
                        f"history key {key!r} holds non-numeric values such as "
                        f"{value!r}"
                    )
                values.append(float(value))
            losses[key] = np.array(values)
        epochs = np.array(
            [row.get("epoch", i + 1) for i, row in enumerate(rows)], dtype=np.float64
        )
        return cls(epochs=epochs, losses=losses, name=name).plot(ax, logy=logy)

    @classmethod
    def from_estimator(cls, estimator, *, keys=None, name=None, ax=None, logy=False):
        """Plot the loss terms of a fitted detector's ``history_``.

        Parameters
        ----------
        estimator : estimator or Pipeline
            Fitted :class:`~sklearn_asd.ContrastiveASDEstimator` or
            :class:`~sklearn_asd.AutoencoderBaseline` (anything with a
            ``history_``), or a fitted Pipeline ending with one.
        keys : list of str, default=None
            History keys to plot (see :meth:`from_history`).
        name : str, default=None
            Axes title; ``None`` uses the detector's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure.
        logy : bool, default=False
            Logarithmic loss axis.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from sklearn_asd import AutoencoderBaseline
        >>> from sklearn_asd.plotting import TrainingCurveDisplay
        >>> X = np.random.default_rng(0).normal(size=(6, 4 * 10)).astype(np.float32)
        >>> det = AutoencoderBaseline(n_mels=4, max_epochs=3, random_state=0).fit(X)
        >>> display = TrainingCurveDisplay.from_estimator(det)
        >>> sorted(display.lines_), display.lines_["train_loss"].get_xdata().tolist()
        (['train_loss', 'train_recon'], [1.0, 2.0, 3.0])
        >>> plt.close("all")
        """
        _check_matplotlib("TrainingCurveDisplay.from_estimator")
        _, detector = _split_estimator(estimator)
        history = getattr(detector, "history_", None)
        if history is None:
            raise ValueError(
                f"{type(detector).__name__} has no training history (history_): "
                "TrainingCurveDisplay needs a fitted neural detector such as "
                "ContrastiveASDEstimator or AutoencoderBaseline"
            )
        return cls.from_history(
            history,
            keys=keys,
            name=_estimator_name(detector, name),
            ax=ax,
            logy=logy,
        )
