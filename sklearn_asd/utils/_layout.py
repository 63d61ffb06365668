# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Spectrogram layout carried along with the arrays the transformers return.

Every step of an ASD pipeline passes a 2-D array ``(n_clips, n_mels * n_frames)``.
Several steps have an ``n_mels`` parameter to reshape it. If a user changes one of
them alone (``GridSearchCV(param_grid={"mel__n_mels": [64]})``), a reshape with the
wrong ``n_mels`` can still succeed when the sizes happen to divide, and give
silently wrong features. To make that mismatch impossible to miss, each
spectrogram-producing transformer records ``(n_mels, n_frames)`` for the exact array
object it returns (a weak side table keyed by object identity: nothing is added to
the array, and entries disappear with the arrays). A downstream step that receives
that same object checks its own ``n_mels`` against the recorded one before anything
else and raises a ``ValueError`` naming both values. When the array was copied or
rebuilt in between (the record is lost), the steps still check that the number of
features is a multiple of ``n_mels`` and, after fit, equal to ``n_features_in_``.
"""

import threading
import weakref

__all__ = []

_LOCK = threading.Lock()
_LAYOUTS: dict[int, tuple] = {}


def _forget(key):
    def callback(_ref):
        with _LOCK:
            entry = _LAYOUTS.get(key)
            if entry is not None and entry[0]() is None:
                del _LAYOUTS[key]

    return callback


def register_layout(X, n_mels, n_frames, producer):
    """Record that ``X`` holds spectrograms of ``n_mels`` x ``n_frames``; return X."""
    key = id(X)
    try:
        ref = weakref.ref(X, _forget(key))
    except TypeError:  # objects that do not support weak references
        return X
    with _LOCK:
        _LAYOUTS[key] = (ref, int(n_mels), int(n_frames), producer)
    return X


def get_layout(X):
    """Return ``(n_mels, n_frames, producer)`` recorded for ``X`` or None."""
    with _LOCK:
        entry = _LAYOUTS.get(id(X))
    if entry is None or entry[0]() is not X:
        return None
    return entry[1:]


def check_spectrogram_layout(X_raw, n_features, n_mels, step):
    """Validate that flattened spectrograms with ``n_features`` match ``n_mels``.

    Parameters
    ----------
    X_raw : object
        The array exactly as the step received it (before any validation copy).
    n_features : int
        Number of columns of the validated array.
    n_mels : int
        The step's own ``n_mels`` parameter.
    step : str
        Class name of the step, for the error message.

    Returns
    -------
    n_frames : int
        ``n_features // n_mels``.
    """
    layout = get_layout(X_raw)
    if layout is not None and layout[0] != n_mels:
        raise ValueError(
            f"{step} has n_mels={n_mels}, but its input was produced by "
            f"{layout[2]} with n_mels={layout[0]} ({layout[0]} mel bands x "
            f"{layout[1]} frames). Set the same n_mels on every step of the "
            "pipeline (for a grid search, vary e.g. 'mel__n_mels', 'mf__n_mels' and "
            "'det__n_mels' together)."
        )
    if n_features % n_mels != 0:
        raise ValueError(
            f"{step} has n_mels={n_mels}, but X has {n_features} features, which is "
            f"not a multiple of {n_mels}: X must hold flattened spectrograms of "
            "shape (n_mels, n_frames), as LogMelSpectrogram returns. Set the same "
            "n_mels on every step of the pipeline."
        )
    return n_features // n_mels
