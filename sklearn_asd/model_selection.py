# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-validation helpers for anomalous sound detection.

:class:`AuxiliarySplit` keeps auxiliary clips (normal recordings of other
machines that train a :class:`~sklearn_asd.ContrastiveASDEstimator` as extra
classes, see its ``auxiliary_classes``) in every training fold and out of every
test fold, so that grid-search scorers only ever see the machine being
monitored.
"""

import numpy as np
from sklearn.model_selection import check_cv
from sklearn.utils.validation import column_or_1d

__all__ = ["AuxiliarySplit"]


class AuxiliarySplit:
    """Cross-validator that puts every auxiliary row in every training fold.

    The rows that are not auxiliary are split by ``cv``; the auxiliary rows are
    appended to each training fold and never appear in a test fold.

    Parameters
    ----------
    cv : int, cross-validation generator or iterable, default=5
        Splitter of the non-auxiliary rows (as ``cv`` of
        :class:`~sklearn.model_selection.GridSearchCV`; an int gives
        :class:`~sklearn.model_selection.StratifiedKFold` when ``y`` is given to
        :meth:`split`, else :class:`~sklearn.model_selection.KFold`).
    auxiliary : array-like of bool of shape (n_samples,)
        True for the auxiliary rows of the ``X`` that will be split (e.g.
        ``np.isin(sections, auxiliary_classes)``).

    See Also
    --------
    sklearn_asd.ContrastiveASDEstimator : Its ``auxiliary_classes`` parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold
    >>> from sklearn_asd.model_selection import AuxiliarySplit
    >>> auxiliary = np.array([False, False, False, False, True, True])
    >>> cv = AuxiliarySplit(KFold(2), auxiliary)
    >>> for train, test in cv.split(np.zeros((6, 1))):
    ...     print(train.tolist(), test.tolist())
    [2, 3, 4, 5] [0, 1]
    [0, 1, 4, 5] [2, 3]
    """

    def __init__(self, cv=5, auxiliary=None):
        self.cv = cv
        self.auxiliary = auxiliary

    def _mask(self, n_samples):
        if self.auxiliary is None:
            raise ValueError("AuxiliarySplit needs auxiliary= (one bool per row)")
        mask = column_or_1d(np.asarray(self.auxiliary))
        if mask.dtype != bool:
            raise ValueError(
                f"auxiliary must be a boolean mask, got dtype {mask.dtype}"
            )
        if mask.shape[0] != n_samples:
            raise ValueError(
                f"auxiliary has {mask.shape[0]} entries for {n_samples} rows"
            )
        if mask.all():
            raise ValueError("every row is auxiliary: nothing is left to test on")
        return mask

    def split(self, X, y=None, groups=None):
        """Generate indices of the training and test folds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (only its length is used).
        y : array-like of shape (n_samples,), default=None
            Labels passed to ``cv`` (for stratification), restricted to the
            non-auxiliary rows.
        groups : array-like of shape (n_samples,), default=None
            Groups passed to ``cv``, restricted to the non-auxiliary rows.

        Yields
        ------
        train : ndarray
            Training indices: a fold of the non-auxiliary rows plus every
            auxiliary row.
        test : ndarray
            Test indices (never an auxiliary row).
        """
        n_samples = len(X)
        mask = self._mask(n_samples)
        main = np.flatnonzero(~mask)
        extra = np.flatnonzero(mask)
        y_main = None if y is None else np.asarray(y)[main]
        g_main = None if groups is None else np.asarray(groups)[main]
        cv = check_cv(self.cv, y_main, classifier=y_main is not None)
        for train, test in cv.split(main, y_main, g_main):
            yield np.sort(np.r_[main[train], extra]), main[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits of ``cv``.

        Parameters
        ----------
        X, y, groups : object
            Passed on to ``cv.get_n_splits`` (restricted to non-auxiliary rows
            when given).

        Returns
        -------
        n_splits : int
            Number of folds.
        """
        if X is None:
            return check_cv(self.cv).get_n_splits()
        mask = self._mask(len(X))
        main = np.flatnonzero(~mask)
        y_main = None if y is None else np.asarray(y)[main]
        g_main = None if groups is None else np.asarray(groups)[main]
        cv = check_cv(self.cv, y_main, classifier=y_main is not None)
        return cv.get_n_splits(main, y_main, g_main)

    def __repr__(self):
        return f"AuxiliarySplit(cv={self.cv!r})"
