# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""ScoreHistogramDisplay: score histograms per section and domain (private)."""

from numbers import Real

import numpy as np

from sklearn_asd.plotting._base import _display_doc, _DisplayMixin, _returns_doc
from sklearn_asd.utils._response import _anomaly_threshold
from sklearn_asd.utils._validation import (
    _check_binary_labels,
    _check_groups,
    _check_scores,
)

__all__ = ["ScoreHistogramDisplay"]

_DOMAINS_DOC = """\
domains : array-like of shape (n_clips,), default=None
    Domain of each clip (one column of panels each).
"""

_HIST_KWARGS_DOC = """\
hist_kwargs : dict, default=None
    Extra keyword arguments of ``ax.hist``.
threshold_kwargs : dict, default=None
    Extra keyword arguments of ``ax.axvline`` for the threshold.
"""

#: The drawing parameters of the from_* methods (plot describes them at length).
_HISTOGRAM_PARAMS_DOC = (
    """\
ax : matplotlib Axes or array of Axes, default=None
    One Axes per panel; ``None`` creates a new figure.
bins : int, sequence or str, default=20
    Bins shared by every panel (see :meth:`plot`).
density : bool, default=False
    Normalise each histogram to unit area.
"""
    + _HIST_KWARGS_DOC
)

#: The docstring parts from_predictions and from_estimator share.
_from_doc = _display_doc(
    "setup",
    domains=_DOMAINS_DOC,
    histogram_params=_HISTOGRAM_PARAMS_DOC,
    returns=_returns_doc("ScoreHistogramDisplay"),
)


#: Panels per row of ScoreHistogramDisplay when no domains are given.
_MAX_COLUMNS = 4


@_display_doc("y_score", "setup")
class ScoreHistogramDisplay(_DisplayMixin):
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
    {y_score}
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
    {setup}
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

    @_display_doc(
        hist_kwargs=_HIST_KWARGS_DOC,
        returns=_returns_doc("ScoreHistogramDisplay", "with its artists stored"),
    )
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
        {hist_kwargs}

        {returns}
        """
        self._check_matplotlib("plot")
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
            fig, axes = self._new_axes(
                n_rows,
                n_cols,
                sharex=True,
                figsize=(3.6 * n_cols + 0.6, 2.8 * n_rows + 0.6),
                layout="constrained",
            )
            for unused in axes.ravel()[len(keys) :]:
                unused.set_visible(False)
        else:
            flat = self._check_axes(ax, len(keys), "plot")
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
    @_display_doc("y_score")
    @_from_doc
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
        {y_score}
        sections : array-like of shape (n_clips,), default=None
            Section of each clip (one row of panels each).
        {domains}
        threshold : float, default=None
            Decision threshold; ``None`` draws no line.
        name : str, default=None
            Figure title.
        {histogram_params}

        {returns}

        Examples
        --------
        {setup}
        >>> from sklearn_asd.plotting import ScoreHistogramDisplay
        >>> display = ScoreHistogramDisplay.from_predictions(
        ...     [0, 0, 1], [0.1, 0.2, 0.9], domains=["source", "target", "source"])
        >>> sorted(display.panels_)
        [(None, 'source'), (None, 'target')]
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_predictions")
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
    @_display_doc("estimator")
    @_from_doc
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
        {estimator}
        y : array-like of shape (n_clips,)
            Labels: 1 = anomalous, 0 = normal.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip: groups the panels, and is passed to the
            detector's ``anomaly_score`` when it has one.
        {domains}
        threshold : "auto", float or None, default="auto"
            ``"auto"``: the detector's own threshold, where ``predict`` switches
            to -1; for the sklearn_asd detectors that is ``-offset_`` in
            ``anomaly_score`` units, for a detector scored by
            ``-decision_function`` it is 0 (no line when the detector defines
            none). A float draws the line there; ``None`` draws no line.
        name : str, default=None
            Figure title; ``None`` uses the detector's class name.
        {histogram_params}

        {returns}

        Examples
        --------
        {setup}
        >>> import numpy as np
        >>> from sklearn_asd import KNNDetector
        >>> from sklearn_asd.plotting import ScoreHistogramDisplay
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(size=(30, 2)), rng.normal(4, 1, size=(6, 2))]
        >>> y = np.r_[np.zeros(30), np.ones(6)]
        >>> detector = KNNDetector().fit(X[:30])
        >>> display = ScoreHistogramDisplay.from_estimator(detector, X, y)
        >>> display.threshold == -detector.offset_  # predict flags the clips above
        True

        A scikit-learn detector is scored by ``-decision_function``, which is
        positive where ``predict`` flags a clip:

        >>> from sklearn.ensemble import IsolationForest
        >>> forest = IsolationForest(random_state=0).fit(X[:30])
        >>> ScoreHistogramDisplay.from_estimator(forest, X, y).threshold
        0.0
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_estimator")
        if not (
            threshold is None
            or (isinstance(threshold, str) and threshold == "auto")
            or (isinstance(threshold, Real) and not isinstance(threshold, bool))
        ):
            raise ValueError(
                f'threshold must be "auto", a number or None, got {threshold!r}'
            )
        scores, detector = cls._estimator_scores(
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
            name=cls._estimator_name(detector, name),
            ax=ax,
            bins=bins,
            density=density,
            hist_kwargs=hist_kwargs,
            threshold_kwargs=threshold_kwargs,
        )
