# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Input checks shared by the transformers and the detectors."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import column_or_1d

__all__ = []


def _check_finite_rows(X, what="X"):
    """Raise a ValueError naming the rows that hold NaN or infinity."""
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        shown = ", ".join(str(i) for i in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        raise ValueError(
            f"{what} contains NaN or infinity in row(s) {shown}{more}: waveforms and "
            "spectrograms must be finite (check the clips these rows came from)."
        )


def _check_section_labels(sections, n_samples):
    """Return ``sections`` as a 1-D object array, one label per clip, none missing.

    NaN != NaN would make one class per clip, so None and NaN labels raise.
    """
    sections = np.asarray(sections, dtype=object)
    if sections.ndim != 1 or sections.shape[0] != n_samples:
        raise ValueError(
            f"sections must be 1-D with one label per clip: got shape "
            f"{sections.shape} for {n_samples} clips"
        )
    missing = [
        i
        for i, s in enumerate(sections.tolist())
        if s is None or (isinstance(s, (float, np.floating)) and np.isnan(s))
    ]
    if missing:
        raise ValueError(
            f"sections holds missing labels (None or NaN) at position(s) "
            f"{missing[:10]}: every clip needs its section"
        )
    return sections


def _sorted_classes(labels):
    """Sorted distinct labels (by their text when the types do not compare)."""
    try:
        return sorted(set(labels))
    except TypeError:  # labels of mixed types
        return sorted(set(labels), key=str)


def _check_labels(y, n_samples):
    """Validate DCASE labels and return the mask of clips to train on.

    0 = normal, 1 = anomalous: clips labelled 1 are left out. Negative labels
    raise: they are scikit-learn's -1 = outlier convention or load_dcase's
    -1 = unknown. Other labels are kept, with a warning.
    """
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} labels for {n_samples} samples")
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "y must hold numeric labels: 0 = normal, 1 = anomalous"
        ) from None
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN, infinity or missing (None) labels")
    if (y < 0).any():
        raise ValueError(
            "y holds negative labels: sklearn_asd uses the DCASE convention, 0 = "
            "normal and 1 = anomalous (not scikit-learn's +1/-1 outlier labels; -1 "
            "is load_dcase's 'unknown label' of evaluation sets). Clips labelled 1 "
            "are left out of training; pass y=None to train on every clip."
        )
    other = sorted(set(np.unique(y).tolist()) - {0.0, 1.0})
    if other:
        warnings.warn(
            f"y holds labels other than 0 (normal) and 1 (anomalous): {other[:5]}; "
            "only clips labelled 1 are left out of training",
            UserWarning,
            stacklevel=3,
        )
    return y != 1


def _training_mask(y, n_samples):
    """Clips to train on: all without ``y``, else those not labelled 1 (checked)."""
    if y is None:
        return np.ones(n_samples, dtype=bool)
    keep = _check_labels(y, n_samples)
    if not keep.any():
        raise ValueError(
            f"all {n_samples} sample(s) are labelled 1 (anomalous): the detector "
            "trains on normal clips (label 0) only"
        )
    return keep


def _class_indices(labels):
    """Sorted classes of ``labels`` and the index of each label among them."""
    classes = _sorted_classes(labels)
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[s] for s in labels], dtype=np.int64)


def _check_positive_int(value, name):
    """Return ``value`` as an int, or raise a ValueError unless it is >= 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _check_binary_labels(y_true):
    """Return ``y_true`` as a 1-d int array of 0 (normal) / 1 (anomalous).

    The labels of metrics and plots: unlike :func:`_check_labels` (training
    labels), any value other than 0 and 1 raises.
    """
    y_true = column_or_1d(y_true)
    if y_true.dtype.kind == "b":
        return y_true.astype(np.int64)
    if y_true.dtype.kind not in "iuf":
        raise ValueError(
            "y_true must hold the numeric DCASE labels 0 (normal) and 1 "
            f"(anomalous); got an array of dtype {y_true.dtype}."
        )
    finite = np.isfinite(y_true)
    bad = np.unique(y_true[~finite | ((y_true != 0) & (y_true != 1))])
    if bad.size:
        raise ValueError(
            "y_true must contain only 0 (normal) and 1 (anomalous), the DCASE "
            f"convention; got the value(s) {bad.tolist()}. scikit-learn's outlier "
            "convention (+1 inlier, -1 outlier) is not accepted: convert it with "
            "y = (y == -1).astype(int). A -1 also marks clips whose label is "
            "unknown (evaluation sets): drop those clips before scoring."
        )
    return y_true.astype(np.int64)


def _class_counts(y_true):
    """Return ``(n_normal, n_anomalous)`` of checked 0/1 labels."""
    n_anomalous = int(y_true.sum())
    return y_true.shape[0] - n_anomalous, n_anomalous


def _check_scores(y_score, n_samples):
    """Return ``y_score`` as a 1-d float64 array of ``n_samples`` scores."""
    y_score = check_array(
        y_score, ensure_2d=False, dtype=np.float64, input_name="y_score"
    )
    y_score = column_or_1d(y_score)
    if y_score.shape[0] != n_samples:
        raise ValueError(
            f"y_score has {y_score.shape[0]} samples but y_true has {n_samples}."
        )
    return y_score


def _check_groups(labels, n_samples, name):
    """Return ``(keys, codes)``: the distinct labels and each sample's index."""
    if labels is None:
        return [None], np.zeros(n_samples, dtype=np.intp)
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-d with one label per sample; got shape {labels.shape}."
        )
    values = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
    if len(values) != n_samples:
        raise ValueError(
            f"{name} has {len(values)} labels but there are {n_samples} samples."
        )
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    try:
        keys = sorted(set(values))
    except TypeError:  # labels of mixed, unorderable types
        keys = list(dict.fromkeys(values))
    index = {key: i for i, key in enumerate(keys)}
    return keys, np.array([index[v] for v in values], dtype=np.intp)


def _validate_float_rows(estimator, X, *, reset):
    """``validate_data`` as float32/float64, then every row checked finite."""
    from sklearn.utils.validation import validate_data

    X = validate_data(
        estimator,
        X,
        reset=reset,
        dtype=[np.float32, np.float64],
        ensure_all_finite=False,
    )
    _check_finite_rows(X)
    return X
