# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one rule from a fitted detector to DCASE-sign anomaly scores (private).

Every part of the package that turns a detector's output into anomaly scores
(``score_files``, streaming, the scorers, the Displays, the command line, the
benchmarks) goes through :func:`_anomaly_scores`, and every part that needs a
decision threshold through :func:`_anomaly_threshold` / :func:`_anomaly_decisions`.
Scores have the DCASE sign: higher = more anomalous. The response method and
its sign are decided here, once:

========================================  ===================  ===============
detector                                  method               anomaly score
========================================  ===================  ===============
has ``anomaly_score`` (this package)      ``anomaly_score``    as is
PyOD detector (module ``pyod.*``)         ``decision_function``  as is
classifier (``is_classifier``), 1 = anom  ``decision_function``  as is
other (``IsolationForest``, a Pipeline)   ``decision_function``  negated
only ``score_samples``                    ``score_samples``    negated
========================================  ===================  ===============

A clip is predicted anomalous when its score is above the threshold, which is
exactly where the detector's own ``predict`` says anomalous.
"""

import inspect

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_consistent_length, column_or_1d
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    _routing_enabled,
    get_routing_for_object,
)

__all__ = []

#: Metadata a detector's scoring method may take (forwarded when it does).
_METADATA = ("sections", "domains")
#: Response methods, in the order they are looked for.
_METHODS = ("anomaly_score", "decision_function", "score_samples")


def _is_pyod(estimator):
    """PyOD detectors score outliers high in ``decision_function``."""
    return type(estimator).__module__.split(".")[0] == "pyod"


def _response_method(estimator):
    """``(method_name, sign)``: the method that scores ``estimator`` and its sign.

    The anomaly score is ``sign * getattr(estimator, method_name)(X)``.
    """
    for method_name in _METHODS:
        if hasattr(estimator, method_name):
            break
    else:
        raise TypeError(
            f"{type(estimator).__name__} has no anomaly_score, decision_function or "
            "score_samples to compute anomaly scores with"
        )
    if method_name == "anomaly_score":
        return method_name, 1.0
    if method_name == "decision_function" and (
        _is_pyod(estimator) or is_classifier(estimator)
    ):
        return method_name, 1.0
    return method_name, -1.0


def _forwardable_metadata(estimator, method_name, metadata):
    """Return the part of ``metadata`` that ``estimator.<method_name>`` accepts.

    - Meta-estimators (a ``Pipeline``, a search...) get the metadata that their
      routing says some child consumes in ``method_name``, and only when
      metadata routing is enabled (they reject it otherwise).
    - Plain estimators get the metadata named in the method's signature,
      unless their request for it is ``False``; a string alias selects the
      metadata of that name.
    """
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if not metadata:
        return {}
    routing = None
    if hasattr(estimator, "get_metadata_routing"):
        try:
            routing = get_routing_for_object(estimator)
        except Exception:  # a third-party object with broken routing
            routing = None
    if isinstance(routing, MetadataRouter):
        if not _routing_enabled() or method_name != "decision_function":
            return {}
        consumed = routing.consumes(method=method_name, params=metadata.keys())
        return {key: metadata[key] for key in consumed}

    try:
        parameters = inspect.signature(getattr(estimator, method_name)).parameters
    except (TypeError, ValueError):
        return {}
    # anomaly_score has no request of its own: the decision_function request
    # (set_decision_function_request) governs it, as it is the same scores
    request_method = (
        "decision_function" if method_name == "anomaly_score" else method_name
    )
    requests = {}
    if routing is not None and hasattr(routing, request_method):
        requests = getattr(routing, request_method).requests
    forwarded = {}
    for name in _METADATA:
        param = parameters.get(name)
        if param is None or param.kind not in (
            param.POSITIONAL_OR_KEYWORD,
            param.KEYWORD_ONLY,
        ):
            continue
        alias = requests.get(name)
        if alias is False:
            continue
        key = alias if isinstance(alias, str) else name
        if key in metadata:
            forwarded[name] = metadata[key]
    return forwarded


def _anomaly_scores(estimator, X, *, sections=None, domains=None, unused="raise"):
    """DCASE-sign anomaly scores of ``X`` (float64, higher = more anomalous).

    Parameters
    ----------
    estimator : fitted detector, classifier or meta-estimator
        Scored with the rule of the module docstring.
    X : array-like
        Input of ``estimator``.
    sections, domains : array-like of shape (n_samples,), default=None
        Forwarded to the scoring method when it takes them (see
        :func:`_forwardable_metadata`).
    unused : {"raise", "ignore"}, default="raise"
        What to do with ``sections`` the estimator cannot take: ``"raise"`` a
        ``ValueError`` (a user asked for them), or ``"ignore"`` them (the
        scorers: routing hands them to every scorer). ``domains`` are never
        required.
    """
    method_name, sign = _response_method(estimator)
    metadata = {"sections": sections, "domains": domains}
    params = _forwardable_metadata(estimator, method_name, metadata)
    if unused == "raise" and sections is not None and "sections" not in params:
        raise ValueError(
            f"sections were given, but {type(estimator).__name__} has no "
            "anomaly_score(X, sections=...) to use them"
        )
    raw = getattr(estimator, method_name)(X, **params)
    if np.iscomplexobj(raw):  # float() would silently drop the imaginary part
        raise ValueError(
            f"{type(estimator).__name__}.{method_name} returned complex values: "
            "anomaly scores must be real numbers"
        )
    raw = column_or_1d(np.asarray(raw, dtype=np.float64))
    check_consistent_length(raw, X)
    return raw if sign > 0 else -raw


def _anomaly_threshold(estimator):
    """Decision threshold in the sign of :func:`_anomaly_scores`, or ``None``.

    Clips scoring above it are the ones the estimator's ``predict`` flags as
    anomalous. ``None`` when the estimator defines no threshold.
    """
    method_name, _ = _response_method(estimator)
    if method_name == "decision_function":
        if _is_pyod(estimator):
            threshold = getattr(estimator, "threshold_", None)
            return None if threshold is None else float(threshold)
        # outlier detectors: anomalous where decision_function < 0, i.e. where
        # -decision_function > 0; classifiers: class 1 where it is > 0
        return 0.0
    # anomaly_score = -score_samples and decision_function = score_samples -
    # offset_, so anomaly_score > -offset_  <=>  decision_function < 0
    offset = getattr(estimator, "offset_", None)
    return None if offset is None else -float(offset)


def _anomaly_decisions(estimator, scores):
    """1 = anomalous, 0 = normal for scores of :func:`_anomaly_scores`.

    The same decisions as the estimator's ``predict``; a ``ValueError`` when the
    estimator defines no threshold.
    """
    threshold = _anomaly_threshold(estimator)
    if threshold is None:
        raise ValueError(
            f"{type(estimator).__name__} has no decision threshold (no offset_ or "
            "decision_function)"
        )
    scores = np.asarray(scores, dtype=np.float64)
    method_name, _ = _response_method(estimator)
    if method_name != "decision_function":
        # bit for bit as predict: score_samples - offset_ < 0
        return ((-scores) - estimator.offset_ < 0).astype(int)
    return (scores > threshold).astype(int)
