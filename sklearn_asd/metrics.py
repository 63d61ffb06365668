# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Detection metrics, DCASE official scores and metadata-routing scorers.

Conventions used throughout this module (DCASE, not scikit-learn):

- labels: ``1`` = anomalous, ``0`` = normal. Any other value raises a
  ``ValueError`` (scikit-learn's ``+1``/``-1`` outlier labels and the ``-1``
  "unknown label" of evaluation sets included);
- scores: higher = more anomalous. The scorers flip the sign of an outlier
  detector's ``decision_function`` (scikit-learn detectors score normal
  samples high).

The formulas of :func:`official_score` copy the official DCASE Task 2
evaluators (``dcase2021_task2_evaluator.py`` for 2021,
``dcase2022_task2_evaluator.py`` to ``dcase2024_task2_evaluator.py`` for
2022 onwards); the AUC and pAUC are scikit-learn's ``roc_auc_score``, as there.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.stats import hmean
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import auc, roc_auc_score, roc_curve
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._response import _METADATA, _METHODS, _anomaly_scores
from sklearn_asd.utils._validation import (
    _check_binary_labels,
    _check_groups,
    _check_scores,
    _class_counts,
)

__all__ = [
    "ASDScorer",
    "auc_scorer",
    "official_score",
    "official_scorer",
    "partial_auc_score",
    "pauc_scorer",
    "section_report",
]

#: Years whose official score :func:`official_score` reproduces.
_YEARS = (2021, 2022, 2023, 2024, 2025)
#: pAUC bound of every official DCASE Task 2 evaluator (``MAX_FPR``).
_OFFICIAL_MAX_FPR = 0.1
#: Lower clip before every harmonic mean (``sys.float_info.epsilon`` there).
_EPS = np.finfo(float).eps
#: The arrays every DCASE metric takes.
_Y_SECTIONS_DOC = """y_true : array-like of shape (n_samples,)
    True labels: 1 = anomalous, 0 = normal (DCASE convention).

y_score : array-like of shape (n_samples,)
    Anomaly scores, higher = more anomalous (DCASE sign).

sections : array-like of shape (n_samples,)
    Section of each clip (any hashable labels).
"""


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------
def _group_name(machine, section, domain=None):
    parts = [] if machine is None else [f"machine type {machine!r}"]
    parts.append(f"section {section!r}")
    if domain is not None:
        parts.append(f"domain {domain!r}")
    return ", ".join(parts)


class _OneClassGroupError(ValueError):
    """A metric's group (section, domain) holds only normal or only anomalous clips."""


def _auc_pair(
    y, s, name, max_fpr=_OFFICIAL_MAX_FPR, what="AUC and pAUC", undefined="raise"
):
    """AUC and McClish pAUC of one group.

    A one-class group raises, or (``undefined="nan"``) gives two NaNs and an
    ``UndefinedMetricWarning`` with the message that would have been raised.
    """
    n_normal, n_anomalous = _class_counts(y)
    if n_normal == 0 or n_anomalous == 0:
        message = (
            f"{name} has {n_normal} normal and {n_anomalous} anomalous clips: "
            f"computing the {what} requires both classes in every group."
        )
        if undefined == "raise":
            raise _OneClassGroupError(message)
        warnings.warn(message, UndefinedMetricWarning, stacklevel=3)
        return np.nan, np.nan
    return roc_auc_score(y, s), roc_auc_score(y, s, max_fpr=max_fpr)


def _defined_hmean(values):
    """Clipped harmonic mean of the defined (non-NaN) values; NaN if none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not values.size:
        return np.nan
    return float(hmean(np.maximum(values, _EPS)))


# ---------------------------------------------------------------------------
# partial_auc_score
# ---------------------------------------------------------------------------
@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "max_fpr": [Interval(Real, 0, 1, closed="right")],
        "standardized": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def partial_auc_score(y_true, y_score, *, max_fpr=0.1, standardized=True):
    """Area under the ROC curve for false-positive rates in ``[0, max_fpr]``.

    The DCASE Task 2 "pAUC". By default it returns the **McClish-standardized**
    partial AUC, exactly ``sklearn.metrics.roc_auc_score(y_true, y_score,
    max_fpr=max_fpr)``, which is what every official DCASE evaluator computes:
    a random ranking scores 0.5 and a perfect one 1.0 (a fully inverted ranking
    scores ``0.5 * (1 - max_fpr / (2 - max_fpr))``, not 0). With
    ``standardized=False`` it returns the raw normalized partial area, the area
    under the ROC curve between ``fpr=0`` and ``fpr=max_fpr`` divided by
    ``max_fpr`` (random ranking: ``max_fpr / 2``; perfect: 1.0; inverted: 0.0).

    In both cases the ROC curve is linearly interpolated at ``max_fpr`` as
    scikit-learn does. With ``max_fpr=1`` both forms equal the full AUC.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: 1 = anomalous, 0 = normal (DCASE convention).

    y_score : array-like of shape (n_samples,)
        Anomaly scores, higher = more anomalous (DCASE sign).

    max_fpr : float, default=0.1
        Upper bound of the false-positive-rate range, in ``(0, 1]``. DCASE uses
        0.1.

    standardized : bool, default=True
        If True, return the McClish-standardized partial AUC (DCASE pAUC). If
        False, return the raw partial area divided by ``max_fpr``.

    Returns
    -------
    score : float
        The partial AUC.

    See Also
    --------
    official_score : DCASE official score (harmonic mean of AUCs and pAUCs).
    sklearn.metrics.roc_auc_score : Computes the standardized form.

    Notes
    -----
    With ``A`` the raw partial area and ``m = max_fpr``, the standardized value
    is ``0.5 * (1 + (A - m**2 / 2) / (m - m**2 / 2))`` [1]_.

    References
    ----------
    .. [1] McClish, D. K. (1989). "Analyzing a portion of the ROC curve".
       Medical Decision Making, 9(3), 190-195.

    Examples
    --------
    >>> from sklearn_asd.metrics import partial_auc_score
    >>> y_true = [0, 0, 1, 1]
    >>> y_score = [0.1, 0.4, 0.35, 0.8]
    >>> round(partial_auc_score(y_true, y_score), 4)
    0.7368
    >>> round(partial_auc_score(y_true, y_score, standardized=False), 4)
    0.5
    """
    y_true = _check_binary_labels(y_true)
    y_score = _check_scores(y_score, y_true.shape[0])
    if np.unique(y_true).size != 2:
        raise ValueError(
            "partial_auc_score needs both normal (0) and anomalous (1) samples "
            f"in y_true; got only {np.unique(y_true).tolist()}."
        )
    if standardized:
        return float(roc_auc_score(y_true, y_score, max_fpr=max_fpr))
    fpr, tpr, _ = roc_curve(y_true, y_score)
    if max_fpr == 1:
        return float(auc(fpr, tpr))
    # Same interpolation as sklearn.metrics._ranking._binary_roc_auc_score.
    stop = np.searchsorted(fpr, max_fpr, "right")
    x_interp = [fpr[stop - 1], fpr[stop]]
    y_interp = [tpr[stop - 1], tpr[stop]]
    tpr = np.append(tpr[:stop], np.interp(max_fpr, x_interp, y_interp))
    fpr = np.append(fpr[:stop], max_fpr)
    return float(auc(fpr, tpr) / max_fpr)


# ---------------------------------------------------------------------------
# official_score and section_report
# ---------------------------------------------------------------------------
def _official_values(
    y_true, y_score, sections, domains, machine_types, year, undefined="raise"
):
    """All AUCs and pAUCs that enter the official harmonic mean (NaN: undefined)."""
    y = _check_binary_labels(y_true)
    s = _check_scores(y_score, y.shape[0])
    n = y.shape[0]
    machines, m_codes = _check_groups(machine_types, n, "machine_types")
    section_keys, s_codes = _check_groups(sections, n, "sections")
    if year >= 2022:
        if domains is None:
            raise ValueError(
                f"official_score(year={year}) needs `domains` ('source' or "
                "'target' for every clip): from 2022 on the official score uses a "
                "source-domain and a target-domain AUC per section."
            )
        domain_keys, d_codes = _check_groups(domains, n, "domains")
        unknown = set(domain_keys) - {"source", "target"}
        if unknown:
            raise ValueError(
                f"official_score(year={year}) needs domains labelled 'source' or "
                f"'target'; got {sorted(map(repr, unknown))}."
            )
        is_source = np.array(domain_keys, dtype=object)[d_codes] == "source"
        domain_masks = {"source": is_source, "target": ~is_source}
    else:
        domain_keys, d_codes = _check_groups(domains, n, "domains")

    aucs, paucs = [], []
    for i, machine in enumerate(machines):
        for j, section in enumerate(section_keys):
            in_section = (m_codes == i) & (s_codes == j)
            if not in_section.any():
                continue
            if year == 2021:
                # dcase2021_task2_evaluator: one AUC and one pAUC per
                # machine x section x domain, on that group's clips only.
                for k, domain in enumerate(domain_keys):
                    group = in_section & (d_codes == k)
                    if not group.any():
                        continue
                    a, p = _auc_pair(
                        y[group],
                        s[group],
                        _group_name(machine, section, domain),
                        undefined=undefined,
                    )
                    aucs.append(a)
                    paucs.append(p)
                continue
            # dcase2022..2024 evaluators: AUC (domain) uses the domain's normal
            # clips and the anomalous clips of both domains; pAUC uses every
            # clip of the section.
            name = _group_name(machine, section)
            _, p = _auc_pair(
                y[in_section], s[in_section], name, what="pAUC", undefined=undefined
            )
            paucs.append(p)
            for domain in ("source", "target"):
                group = in_section & (domain_masks[domain] | (y == 1))
                a, _ = _auc_pair(
                    y[group],
                    s[group],
                    f"{name} ({domain}-domain normals + all anomalies)",
                    what=f"AUC ({domain})",
                    undefined=undefined,
                )
                aucs.append(a)
    return aucs, paucs


@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "sections": ["array-like"],
        "domains": ["array-like", None],
        "machine_types": ["array-like", None],
        "year": [Options(Integral, set(_YEARS))],
        "undefined": [StrOptions({"raise", "nan"})],
    },
    prefer_skip_nested_validation=True,
)
@_substitute(y_sections=_Y_SECTIONS_DOC)
def official_score(
    y_true,
    y_score,
    *,
    sections,
    domains=None,
    machine_types=None,
    year=2021,
    undefined="raise",
):
    """DCASE Task 2 official score: harmonic mean of AUCs and pAUCs.

    Reproduces the official evaluators of the DCASE Challenge Task 2:

    - ``year=2021`` (``dcase2021_task2_evaluator.py``): for every machine type
      x section x domain group, AUC = ``roc_auc_score`` and pAUC =
      ``roc_auc_score(max_fpr=0.1)`` on that group's normal and anomalous
      clips. With ``domains=None`` each section is one group.
    - ``year>=2022`` (``dcase2022_task2_evaluator.py`` to
      ``dcase2024_task2_evaluator.py``): for every machine type x section,
      AUC (source) uses the source-domain normal clips and the anomalous clips
      of *both* domains, AUC (target) the target-domain normal clips and all
      anomalous clips, and pAUC every clip of the section.

    The score is then **one** harmonic mean over every AUC and every pAUC,
    each clipped below at machine epsilon, as the evaluators compute it:
    ``scipy.stats.hmean(np.maximum(values, np.finfo(float).eps))``. For
    2022+ each section contributes three values, so this equals the harmonic
    mean over sections of each section's ``hmean(AUC source, AUC target,
    pAUC)``.

    Parameters
    ----------
    {y_sections}

    domains : array-like of shape (n_samples,), default=None
        Domain of each clip. For 2021 any labels (``None``: one group per
        section); required for 2022+, with values ``"source"`` and
        ``"target"``.

    machine_types : array-like of shape (n_samples,), default=None
        Machine type of each clip; sections of different machine types are
        different groups even when their labels are equal. ``None``: one
        machine type.

    year : {2021, 2022, 2023, 2024, 2025}, default=2021
        Challenge edition whose evaluator is reproduced (2023-2025 use the
        2022 formula).

    undefined : {"raise", "nan"}, default="raise"
        What to do with a group whose AUC or pAUC is undefined because it holds
        only normal or only anomalous clips (as ``zero_division`` of
        :func:`sklearn.metrics.classification_report`). ``"raise"``: raise a
        ``ValueError`` naming it. ``"nan"``: that AUC or pAUC is NaN and left
        out of the harmonic mean, which is taken over the defined values only
        (NaN when none is defined), and an
        :class:`~sklearn.exceptions.UndefinedMetricWarning` names each such
        group with the message ``"raise"`` would give. The result is then the
        score of the defined groups, not the official score of all of them.

    Returns
    -------
    score : float
        The official score, in ``[0, 1]`` (NaN only with ``undefined="nan"``).

    Raises
    ------
    ValueError
        If a group has only one class and ``undefined="raise"`` (the message
        names its machine type, section and domain), or if ``domains`` are
        missing or not ``"source"``/``"target"`` for 2022+.

    See Also
    --------
    section_report : The per-group AUCs and pAUCs behind the score.
    partial_auc_score : The pAUC of one group.

    Examples
    --------
    >>> from sklearn_asd.metrics import official_score
    >>> y_true = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> y_score = [0.1, 0.4, 0.35, 0.8, 0.1, 0.2, 0.3, 0.4]
    >>> sections = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> round(official_score(y_true, y_score, sections=sections), 4)
    0.8528

    A section without anomalous clips: NaN for it, the score of the others.

    >>> import warnings
    >>> from sklearn.exceptions import UndefinedMetricWarning
    >>> sections = [0, 0, 0, 0, 1, 1, 2, 2]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UndefinedMetricWarning)
    ...     round(official_score(y_true, y_score, sections=sections,
    ...                          undefined="nan"), 4)
    0.7434
    """
    aucs, paucs = _official_values(
        y_true, y_score, sections, domains, machine_types, year, undefined
    )
    return _defined_hmean(aucs + paucs)


_REPORT_COLUMNS = (
    "machine_type",
    "section",
    "domain",
    "n_normal",
    "n_anomalous",
    "auc",
    "pauc",
)


def _aggregate_rows(machine, rows):
    """Arithmetic and harmonic means of the rows' defined AUCs and pAUCs."""
    aucs = np.array([r[5] for r in rows], dtype=np.float64)
    paucs = np.array([r[6] for r in rows], dtype=np.float64)
    n_normal = sum(r[3] for r in rows)
    n_anomalous = sum(r[4] for r in rows)

    def mean(values):
        values = values[~np.isnan(values)]
        return float(np.mean(values)) if values.size else np.nan

    amean = (mean(aucs), mean(paucs))
    hmeans = (_defined_hmean(aucs), _defined_hmean(paucs))
    counts = (n_normal, n_anomalous)
    return [
        (machine, "arithmetic mean", None, *counts, *amean),
        (machine, "harmonic mean", None, *counts, *hmeans),
    ]


def _format_table(columns, digits):
    headers = {
        "machine_type": "machine_type",
        "section": "section",
        "domain": "domain",
        "n_normal": "n_normal",
        "n_anomalous": "n_anomalous",
        "auc": "AUC",
        "pauc": "pAUC",
    }
    shown = [
        c
        for c in _REPORT_COLUMNS
        if c not in ("machine_type", "domain") or any(v is not None for v in columns[c])
    ]
    cells = {}
    for c in shown:
        if c in ("auc", "pauc"):
            cells[c] = [f"{v:.{digits}f}" if v == v else "n/a" for v in columns[c]]
        else:
            cells[c] = ["" if v is None else str(v) for v in columns[c]]
    widths = {c: max(len(headers[c]), *map(len, cells[c])) for c in shown}
    left = {"machine_type", "section", "domain"}

    def line(values):
        out = [
            v.ljust(widths[c]) if c in left else v.rjust(widths[c])
            for c, v in zip(shown, values)
        ]
        return "  ".join(out).rstrip()

    lines = [line([headers[c] for c in shown])]
    lines += [line(row) for row in zip(*(cells[c] for c in shown))]
    return "\n".join(lines) + "\n"


@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "sections": ["array-like"],
        "domains": ["array-like", None],
        "machine_types": ["array-like", None],
        "max_fpr": [Interval(Real, 0, 1, closed="right")],
        "output_dict": ["boolean"],
        "digits": [Interval(Integral, 0, None, closed="left")],
        "undefined": [StrOptions({"raise", "nan"})],
    },
    prefer_skip_nested_validation=True,
)
@_substitute(y_sections=_Y_SECTIONS_DOC)
def section_report(
    y_true,
    y_score,
    *,
    sections,
    domains=None,
    machine_types=None,
    max_fpr=0.1,
    output_dict=False,
    digits=4,
    undefined="raise",
):
    """Build a table of AUC and pAUC per machine type, section and domain.

    One row per machine type x section x domain group (one per section when
    ``domains=None``) with its numbers of normal and anomalous clips, its AUC
    and its McClish-standardized pAUC, both computed on that group's clips
    only (the rows of the 2021 evaluator). After the rows of each machine
    type come two aggregate rows, ``"arithmetic mean"`` and ``"harmonic
    mean"`` (in the ``section`` column) of that machine type's AUCs and pAUCs,
    as the DCASE evaluators print them (harmonic means clip each value below
    at machine epsilon). With several machine types, two more aggregate rows
    with machine type ``"all"`` cover every group.

    A group with only one class raises a ``ValueError`` naming it, as
    :func:`official_score` does, unless ``undefined="nan"``.

    Parameters
    ----------
    {y_sections}

    domains : array-like of shape (n_samples,), default=None
        Domain of each clip (e.g. ``"source"``/``"target"``). ``None``: one
        group per section.

    machine_types : array-like of shape (n_samples,), default=None
        Machine type of each clip. ``None``: one machine type.

    max_fpr : float, default=0.1
        Upper false-positive rate of the pAUC.

    output_dict : bool, default=False
        If True, return a dict of columns instead of a text table.

    digits : int, default=4
        Number of digits of AUC and pAUC in the text table. Ignored when
        ``output_dict=True``.

    undefined : {"raise", "nan"}, default="raise"
        What to do with a group that holds only normal or only anomalous
        clips (as ``zero_division`` of
        :func:`sklearn.metrics.classification_report`). ``"raise"``: raise a
        ``ValueError`` naming it. ``"nan"``: its AUC and pAUC are NaN
        (``n/a`` in the text table), the aggregate rows are the means of the
        defined groups only (NaN when none is defined), and an
        :class:`~sklearn.exceptions.UndefinedMetricWarning` names each such
        group.

    Returns
    -------
    report : str or dict
        Text table, or a dict mapping the column names ``"machine_type"``,
        ``"section"``, ``"domain"``, ``"n_normal"``, ``"n_anomalous"``,
        ``"auc"`` and ``"pauc"`` to lists (one entry per row), which
        ``pandas.DataFrame(report)`` takes directly. Missing machine types and
        domains are ``None`` (and their columns are left out of the text).

    See Also
    --------
    official_score : The DCASE official score.

    Examples
    --------
    >>> from sklearn_asd.metrics import section_report
    >>> y_true = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> y_score = [0.1, 0.4, 0.35, 0.8, 0.1, 0.2, 0.3, 0.4]
    >>> sections = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> print(section_report(y_true, y_score, sections=sections))
    section          n_normal  n_anomalous     AUC    pAUC
    0                       2            2  0.7500  0.7368
    1                       2            2  1.0000  1.0000
    arithmetic mean         4            4  0.8750  0.8684
    harmonic mean           4            4  0.8571  0.8485
    >>> report = section_report(y_true, y_score, sections=sections, output_dict=True)
    >>> report["auc"]
    [0.75, 1.0, 0.875, 0.857...]
    """
    y = _check_binary_labels(y_true)
    s = _check_scores(y_score, y.shape[0])
    n = y.shape[0]
    machines, m_codes = _check_groups(machine_types, n, "machine_types")
    section_keys, s_codes = _check_groups(sections, n, "sections")
    domain_keys, d_codes = _check_groups(domains, n, "domains")

    rows, all_groups = [], []
    for i, machine in enumerate(machines):
        machine_rows = []
        for j, section in enumerate(section_keys):
            for k, domain in enumerate(domain_keys):
                group = (m_codes == i) & (s_codes == j) & (d_codes == k)
                if not group.any():
                    continue
                name = _group_name(machine, section, domain)
                a, p = _auc_pair(
                    y[group], s[group], name, max_fpr=max_fpr, undefined=undefined
                )
                n_anomalous = int(y[group].sum())
                machine_rows.append(
                    (
                        machine,
                        section,
                        domain,
                        int(group.sum()) - n_anomalous,
                        n_anomalous,
                        float(a),
                        float(p),
                    )
                )
        rows += machine_rows + _aggregate_rows(machine, machine_rows)
        all_groups += machine_rows
    if len(machines) > 1:
        rows += _aggregate_rows("all", all_groups)

    columns = {c: [row[i] for row in rows] for i, c in enumerate(_REPORT_COLUMNS)}
    if output_dict:
        return columns
    return _format_table(columns, digits)


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------
# The metric functions' signatures define the scorer's metadata requests
# (``sections``/``domains``); options travel in ``**params`` so that they are
# not requested as metadata.
def _auc_metric(y_true, y_score, *, sections=None, domains=None, **params):
    y = _check_binary_labels(y_true)
    if np.unique(y).size != 2:
        raise ValueError(
            "The AUC needs both normal (0) and anomalous (1) samples; got only "
            f"{np.unique(y).tolist()}."
        )
    return float(roc_auc_score(y, _check_scores(y_score, y.shape[0])))


def _pauc_metric(y_true, y_score, *, sections=None, domains=None, **params):
    return partial_auc_score(y_true, y_score, max_fpr=params["max_fpr"])


def _official_metric(y_true, y_score, *, sections=None, domains=None, **params):
    if sections is None:
        raise ValueError(
            "The official score needs the `sections` of the scored clips (and "
            "`domains` for 2022+). Pass them to the scorer, e.g. "
            "scorer(estimator, X, y, sections=s), or route them: "
            "sklearn.set_config(enable_metadata_routing=True), then "
            "GridSearchCV(...).fit(X, y, sections=s) or "
            "cross_validate(..., params={'sections': s})."
        )
    return official_score(
        y_true, y_score, sections=sections, domains=domains, year=params["year"]
    )


_METRICS = {"auc": _auc_metric, "pauc": _pauc_metric, "official": _official_metric}


class ASDScorer(_BaseScorer):
    """Scorer for anomalous sound detectors, usable as ``scoring=``.

    Call it as ``scorer(estimator, X, y_true, sections=None, domains=None)``.
    It computes the DCASE-sign anomaly score of ``X`` (higher = more
    anomalous) from the estimator and returns the chosen metric, so higher is
    better:

    - the score is ``estimator.anomaly_score(X)`` when the estimator has one
      (this package's detectors), else ``-estimator.decision_function(X)``
      (scikit-learn outlier detectors such as ``IsolationForest`` and
      pipelines score normal samples high), else
      ``-estimator.score_samples(X)``; for a classifier (``is_classifier``),
      trained with 1 = anomalous, and for a PyOD detector it is
      ``decision_function`` unflipped. :func:`~sklearn_asd.scoring.score_files`,
      the Displays and the command line use the same rule;
    - ``sections`` and ``domains`` are **requested through metadata routing**
      (request value ``True``): with
      ``sklearn.set_config(enable_metadata_routing=True)``,
      ``GridSearchCV(..., scoring=scorer).fit(X, y, sections=s)`` and
      ``cross_validate(..., params={"sections": s})`` hand the test fold's
      ``sections``/``domains`` to the scorer. They can also be passed to a
      direct call, with or without routing;
    - the scorer passes them on to the scoring method only when the
      estimator takes them: a plain estimator whose ``anomaly_score`` or
      ``decision_function`` signature has ``sections``/``domains`` (unless its
      ``decision_function`` request for them is ``False``), or a
      meta-estimator such as a ``Pipeline`` whose routing
      says a step consumes them in ``decision_function`` (set with
      ``step.set_decision_function_request(sections=True)``; needs routing
      enabled). Other estimators (``IsolationForest``) never receive them.
      Metadata never reaches ``score_samples`` of a meta-estimator.

    Unlike ``make_scorer`` scorers, one scoring call is made per
    scorer: several ``ASDScorer`` in a ``scoring`` dict do not share a cache.

    Parameters
    ----------
    metric : {"auc", "pauc", "official"}, default="pauc"
        ``"auc"``: ``roc_auc_score`` over all scored clips; ``"pauc"``:
        :func:`partial_auc_score` (McClish-standardized) over all scored
        clips; ``"official"``: :func:`official_score`, which needs
        ``sections`` (and ``domains`` for 2022+) and raises a ``ValueError``
        without them. ``sections`` never change how ``"auc"`` and ``"pauc"``
        are computed; they only reach the estimator.

    max_fpr : float, default=0.1
        Upper false-positive rate of the pAUC. Used only by ``"pauc"`` (the
        official score always uses 0.1).

    year : {2021, 2022, 2023, 2024, 2025}, default=2021
        Evaluator reproduced by ``"official"``. Ignored by the other metrics.

    See Also
    --------
    auc_scorer : ``ASDScorer(metric="auc")``.
    pauc_scorer : ``ASDScorer(metric="pauc")``.
    official_scorer : ``ASDScorer(metric="official", year=2021)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn_asd.metrics import ASDScorer, pauc_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(50, 2)), rng.normal(6, 1, size=(10, 2))]
    >>> y = np.r_[np.zeros(50), np.ones(10)]
    >>> detector = IsolationForest(random_state=0).fit(X[y == 0])
    >>> round(pauc_scorer(detector, X, y), 2)
    1.0
    >>> ASDScorer(metric="official", year=2022)
    ASDScorer(metric='official', year=2022)
    """

    _parameter_constraints: dict = {
        "metric": [StrOptions(set(_METRICS))],
        "max_fpr": [Interval(Real, 0, 1, closed="right")],
        "year": [Options(Integral, set(_YEARS))],
    }

    # Request the metadata by default (scikit-learn's own scorers leave it
    # unrequested until set_score_request is called).
    __metadata_request__score = {"sections": True, "domains": True}

    def __init__(self, metric="pauc", *, max_fpr=0.1, year=2021):
        validate_parameter_constraints(
            self._parameter_constraints,
            {"metric": metric, "max_fpr": max_fpr, "year": year},
            caller_name=type(self).__name__,
        )
        self.metric = metric
        self.max_fpr = max_fpr
        self.year = year
        kwargs = {}
        if metric == "pauc":
            kwargs["max_fpr"] = max_fpr
        elif metric == "official":
            kwargs["year"] = year
        super().__init__(
            _METRICS[metric],
            sign=1,
            kwargs=kwargs,
            response_method=("decision_function", "score_samples"),
        )

    def __repr__(self):
        args = [f"metric={self.metric!r}"]
        if self.metric == "pauc" and self.max_fpr != 0.1:
            args.append(f"max_fpr={self.max_fpr!r}")
        if self.metric == "official" and self.year != 2021:
            args.append(f"year={self.year!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def __call__(self, estimator, X, y_true, **kwargs):
        """Score a fitted estimator on ``X`` against ``y_true``.

        Parameters
        ----------
        estimator : object
            Fitted detector with ``anomaly_score``, ``decision_function`` or
            ``score_samples``.

        X : array-like of shape (n_samples, n_features)
            Test data.

        y_true : array-like of shape (n_samples,)
            True labels: 1 = anomalous, 0 = normal.

        **kwargs : dict
            ``sections`` and/or ``domains`` of the samples, array-like of
            shape (n_samples,). Accepted with or without metadata routing.

        Returns
        -------
        score : float
            The metric; higher is better.
        """
        return self._score(None, estimator, X, y_true, **kwargs)

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        unknown = set(kwargs) - set(_METADATA)
        if unknown:
            raise TypeError(
                f"{self!r} accepts only the metadata {list(_METADATA)}; got "
                f"{sorted(unknown)}."
            )
        y_score = self._anomaly_score(estimator, X, kwargs)
        metadata = {key: kwargs.get(key) for key in _METADATA}
        return self._sign * self._score_func(
            y_true, y_score, **metadata, **self._kwargs
        )

    def _anomaly_score(self, estimator, X, metadata):
        """DCASE-sign scores of ``X``, forwarding the metadata it accepts."""
        if not any(hasattr(estimator, m) for m in _METHODS):
            raise TypeError(
                f"{self!r} needs an estimator with anomaly_score, decision_function "
                f"or score_samples; {type(estimator).__name__} has none of them."
            )
        return _anomaly_scores(estimator, X, **metadata, unused="ignore")


#: AUC over all scored clips (``roc_auc_score``), DCASE sign.
auc_scorer = ASDScorer(metric="auc")
#: McClish-standardized pAUC (``max_fpr=0.1``) over all scored clips.
pauc_scorer = ASDScorer(metric="pauc")
#: DCASE 2021 official score; needs ``sections`` (routed or passed).
official_scorer = ASDScorer(metric="official", year=2021)
