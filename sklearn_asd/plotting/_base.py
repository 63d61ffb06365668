# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared base of the Displays (private), as scikit-learn's ``utils/_plotting.py``.

The helpers every Display uses (:class:`_DisplayMixin`: the matplotlib check,
new and given Axes, the split of a fitted pipeline into its front and detector)
and the parameter text the Displays share (:func:`_display_doc`).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._response import _anomaly_scores

__all__ = []

#: Docstring parts shared by the Displays, filled in by :func:`_display_doc`.
_DOCS = {
    # the first lines of every Examples section: draw off screen
    "setup": """\
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
""",
    "ax": """\
ax : matplotlib Axes, default=None
    Axes to draw on; ``None`` creates a new figure.
""",
    "estimator": """\
estimator : estimator or Pipeline
    Fitted detector, or a fitted Pipeline ending with one.
X : array-like
    Input of the estimator (features, or file paths for a pipeline that
    starts with :class:`~sklearn_asd.features.AudioLoader`).
""",
    "y_score": """\
y_score : array-like of shape (n_clips,)
    Anomaly scores, higher = more anomalous.
""",
}


def _display_doc(*shared, **parts):
    """Return a decorator filling ``{name}`` lines with shared parts and ``parts``.

    ``shared`` names entries of ``_DOCS``; ``parts`` gives other texts, as
    :func:`~sklearn_asd.utils._docstring._substitute` takes them.
    """
    return _substitute(**{name: _DOCS[name] for name in shared}, **parts)


def _returns_doc(display, what="drawn"):
    """Return the Returns section of a Display method that returns the display."""
    return f"""\
Returns
-------
display : {display}
    The display, {what}.
"""


class _DisplayMixin:
    """Helpers shared by the Displays.

    As scikit-learn's ``_BinaryClassifierCurveDisplayMixin``: the matplotlib
    check, new or given Axes, and the scores of a fitted detector or pipeline.
    """

    @classmethod
    def _check_matplotlib(cls, method):
        """Import matplotlib or raise an ImportError that says how to install it."""
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                f"{cls.__name__}.{method} requires matplotlib, an optional "
                'dependency of sklearn-asd. Install it with: pip install "sklearn-asd'
                '[plot]" (or pip install matplotlib)'
            ) from exc

    @staticmethod
    def _new_axes(nrows=1, ncols=1, **kwargs):
        """Return a new figure and its Axes as a 2-D array."""
        import matplotlib.pyplot as plt

        return plt.subplots(nrows, ncols, squeeze=False, **kwargs)

    @classmethod
    def _check_axes(cls, ax, n_panels, method):
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
                f"{cls.__name__}.{method} draws {n_panels} panel(s): ax must be None "
                f"(a new figure), {'a matplotlib Axes or ' if n_panels == 1 else ''}"
                f"an array of {n_panels} matplotlib Axes; got {type(ax).__name__}"
                + (f" of size {axes.size}" if axes.size != 1 else "")
            )
        return axes

    @classmethod
    def _one_axes(cls, ax, method, **kwargs):
        """Return ``ax`` checked, or the Axes of a new figure (``kwargs``) if None."""
        if ax is None:
            return cls._new_axes(**kwargs)[1][0, 0]
        return cls._check_axes(ax, 1, method)[0]

    @staticmethod
    def _split_estimator(estimator):
        """Return ``(front, detector)``: a pipeline's leading steps and last step."""
        if not hasattr(estimator, "fit"):
            raise TypeError(
                "expected a fitted detector or Pipeline, got "
                f"{type(estimator).__name__}"
            )
        check_is_fitted(estimator)
        steps = getattr(estimator, "steps", None)
        if steps:
            front = estimator[:-1] if len(steps) > 1 else None
            return front, estimator[-1]
        return None, estimator

    @classmethod
    def _estimator_scores(cls, estimator, X, sections, *, sections_if_usable=False):
        """DCASE-sign scores of a fitted detector or pipeline, and its detector.

        With ``sections_if_usable=True`` the sections are passed only to a
        detector that has ``anomaly_score`` (they still group the plot);
        otherwise a detector that cannot use them raises a ``ValueError``.
        """
        front, detector = cls._split_estimator(estimator)
        if sections_if_usable and not hasattr(detector, "anomaly_score"):
            sections = None
        if front is not None:
            X = front.transform(X)
        return _anomaly_scores(detector, X, sections=sections), detector

    @staticmethod
    def _estimator_name(detector, name):
        """Return ``name``, or the detector's class name when it is None."""
        return type(detector).__name__ if name is None else name
