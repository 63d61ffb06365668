# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared base of the Displays (private), as scikit-learn's ``utils/_plotting.py``.

The matplotlib check, new and given Axes, the split of a fitted pipeline into
its front and detector, and the parameter text the Displays share.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.utils._response import _anomaly_scores

__all__ = []


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
