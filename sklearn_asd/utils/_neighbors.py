# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The k-nearest-neighbour anomaly score shared by the detectors (private)."""

import numpy as np
from scipy.spatial.distance import cdist

__all__ = []

METRICS = ("cosine", "euclidean", "manhattan")
METHODS = ("largest", "mean")
# distance-matrix entries per block of queries (8 MB of float64)
_BLOCK = 2**20


def _distances(query, pool, metric):
    """Pairwise distances ``(n_query, n_pool)`` in float64, never overflowing.

    Every entry depends on its two rows only (no matrix-product shortcut), so a
    clip's score does not depend on the other clips scored with it.
    """
    query = np.asarray(query, dtype=np.float64)
    pool = np.asarray(pool, dtype=np.float64)
    if metric == "cosine":
        q = _unit_rows(query)
        p = _unit_rows(pool)
        # 1 - cos(a, b) = |a - b|^2 / 2 for unit vectors
        D = cdist(q, p, "sqeuclidean") / 2.0
        # a zero vector has no direction: distance 1 (as sklearn's cosine_distances)
        D[~q.any(axis=1)] = 1.0
        D[:, ~p.any(axis=1)] = 1.0
        return D
    name = "cityblock" if metric == "manhattan" else metric
    with np.errstate(over="ignore", invalid="ignore"):
        D = cdist(query, pool, metric=name)
    bad = ~np.isfinite(D).all(axis=1)
    if bad.any():
        # sums of squares (or of values) beyond the float64 range: both metrics
        # are homogeneous, d(a, b) = c * d(a / c, b / c), with c the largest
        # magnitude of the query row and of the pool (not of the other queries)
        peak = np.abs(pool).max(initial=0.0)
        scale = np.maximum(np.abs(query[bad]).max(axis=1), peak)
        D[bad] = _scaled_rows(query[bad], pool, scale, name)
    return D


def _scaled_rows(query, pool, scale, name):
    """Distances of each query row to the pool, both divided by the row's scale."""
    out = np.empty((query.shape[0], pool.shape[0]))
    for i, c in enumerate(scale):
        with np.errstate(over="ignore"):  # beyond float64 even so: stays inf
            out[i] = cdist(query[i : i + 1] / c, pool / c, metric=name)[0] * c
    return out


def _unit_rows(A):
    """Rows divided by their Euclidean norm (zero rows stay zero), overflow-safe."""
    peak = np.abs(A).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    A = A / peak
    norm = np.linalg.norm(A, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return A / norm


def _pool_scores(query, pool, n_neighbors, method, metric, own):
    """Scores of ``query`` rows against one class's training rows.

    ``own[i]`` is the position in ``pool`` of query row ``i`` itself
    (leave-one-out), or -1: then one training row identical to the query (same
    values), if any, is left out instead.
    """
    n_pool = pool.shape[0]
    out = np.empty(query.shape[0], dtype=np.float64)
    step = max(1, _BLOCK // max(n_pool, 1))
    for start in range(0, query.shape[0], step):
        rows = slice(start, start + step)
        D = _distances(query[rows], pool, metric)
        n = D.shape[0]
        own_rows = own[rows].copy()
        # a query identical to a training row is scored as that row, leave-one-out
        # (scores of the training clips then equal their fit-time scores)
        for i in np.flatnonzero((own_rows < 0) & (D.min(axis=1) == 0.0)):
            same = np.flatnonzero(D[i] == 0.0)
            same = same[(pool[same] == query[start + i]).all(axis=1)]
            if same.size:
                own_rows[i] = same[0]
        left_out = own_rows >= 0
        D[np.flatnonzero(left_out), own_rows[left_out]] = np.inf
        available = n_pool - left_out
        if (available < 1).any():
            raise ValueError(
                "no training sample is left to compare with: a class with a single "
                "training sample (1 sample) has no neighbour once that sample is "
                "left out"
            )
        k = np.minimum(n_neighbors, available)
        k_max = int(k.max())
        nearest = np.partition(D, k_max - 1, axis=1)[:, :k_max]
        nearest.sort(axis=1)
        if method == "largest":
            out[rows] = nearest[np.arange(n), k - 1]
        else:
            used = np.arange(k_max)[None, :] < k[:, None]
            out[rows] = np.where(used, nearest, 0.0).sum(axis=1) / k
    return out


def knn_anomaly_scores(
    train,
    train_labels,
    query,
    query_labels,
    *,
    n_neighbors,
    method,
    metric,
    leave_one_out=False,
):
    """Compute k-nearest-neighbour anomaly scores (higher = more anomalous).

    The score of a query row is its distance to the ``n_neighbors``-th nearest
    training row of its class (``method="largest"``) or the mean distance to its
    ``n_neighbors`` nearest ones (``method="mean"``). ``n_neighbors`` is capped at
    the number of training rows available in the class.

    A training row never counts as its own neighbour. With
    ``leave_one_out=True`` the queries are the training rows themselves (same
    rows, same order) and row ``i`` leaves out training row ``i`` (by position:
    an identical twin row still counts, at distance 0). Otherwise a query that
    is identical to a training row (distance exactly 0) leaves out one such
    row, so that scoring the training rows again gives their leave-one-out
    scores exactly; other queries compare with every training row.

    Parameters
    ----------
    train : array-like of shape (n_train, n_features)
        Training rows (normal clips' features or embeddings).
    train_labels : array-like of int of shape (n_train,)
        Class index of each training row.
    query : array-like of shape (n_query, n_features)
        Rows to score.
    query_labels : array-like of int of shape (n_query,) or None
        Class index of each query row: its neighbours are searched among the
        training rows of that class. ``None`` scores each row against every class
        and keeps the smallest score (the best-matching class).
    n_neighbors : int
        Number of neighbours, at least 1.
    method : {"largest", "mean"}
        Distance to the k-th neighbour, or mean distance to the k nearest.
    metric : {"euclidean", "cosine", "manhattan"}
        Distance; ``"cosine"`` is ``1 - cos`` (1 for a zero vector).
    leave_one_out : bool, default=False
        Whether ``query`` is ``train`` (training scores).

    Returns
    -------
    scores : ndarray of shape (n_query,), float64
        Anomaly scores.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd.utils._neighbors import knn_anomaly_scores
    >>> train = np.array([[0.0], [1.0], [3.0]])
    >>> labels = np.zeros(3, dtype=int)
    >>> knn_anomaly_scores(train, labels, np.array([[10.0]]), None,
    ...                    n_neighbors=1, method="largest", metric="euclidean")
    array([7.])
    >>> knn_anomaly_scores(train, labels, train, labels, n_neighbors=1,
    ...                    method="largest", metric="euclidean", leave_one_out=True)
    array([1., 1., 2.])
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if isinstance(n_neighbors, bool) or int(n_neighbors) != n_neighbors:
        raise ValueError(f"n_neighbors must be an integer, got {n_neighbors!r}")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be at least 1, got {n_neighbors}")
    train = np.asarray(train, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    train_labels = np.asarray(train_labels)
    if train.ndim != 2 or query.ndim != 2 or train.shape[1] != query.shape[1]:
        raise ValueError(
            f"train and query must be 2-D with the same number of columns: got "
            f"shapes {train.shape} and {query.shape}"
        )
    if train_labels.shape != (train.shape[0],):
        raise ValueError(
            f"train_labels must hold one label per training row: got shape "
            f"{train_labels.shape} for {train.shape[0]} rows"
        )
    if train.shape[0] == 0:
        raise ValueError("train holds no rows")
    if query_labels is not None:
        query_labels = np.asarray(query_labels)
        if query_labels.shape != (query.shape[0],):
            raise ValueError(
                f"query_labels must hold one label per query row: got shape "
                f"{query_labels.shape} for {query.shape[0]} rows"
            )
    if leave_one_out and (
        query.shape != train.shape
        or (query_labels is not None and not np.array_equal(query_labels, train_labels))
    ):
        raise ValueError(
            "leave_one_out=True needs query to be train (same rows and labels)"
        )
    classes = np.unique(train_labels)
    if query_labels is not None:
        missing = np.setdiff1d(np.unique(query_labels), classes)
        if missing.size:
            raise ValueError(
                f"query_labels holds class(es) {missing[:10].tolist()} without "
                "training rows"
            )
    n_neighbors = int(n_neighbors)
    best = np.full(query.shape[0], np.inf)
    for c in classes:
        in_pool = np.flatnonzero(train_labels == c)
        targets = (
            np.arange(query.shape[0])
            if query_labels is None
            else np.flatnonzero(query_labels == c)
        )
        if targets.size == 0:
            continue
        own = np.full(targets.size, -1, dtype=np.int64)
        if leave_one_out:
            position = np.full(train.shape[0], -1, dtype=np.int64)
            position[in_pool] = np.arange(in_pool.size)
            own = position[targets]
        scores = _pool_scores(
            query[targets], train[in_pool], n_neighbors, method, metric, own
        )
        best[targets] = np.minimum(best[targets], scores)
    return best
