# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""BandStatistics: spectrograms to clip-level feature vectors."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
)

from sklearn_asd.features._median import _SPECTROGRAMS_DOC, _SpectrogramStep
from sklearn_asd.utils._docstring import _substitute

__all__ = []

_STATISTICS = {
    "mean": lambda S: S.mean(axis=2),
    "std": lambda S: S.std(axis=2),
    "min": lambda S: S.min(axis=2),
    "max": lambda S: S.max(axis=2),
}
_FEATURES = ("bands", "mfcc", "spectral")
_SPECTRAL = ("centroid", "bandwidth", "rolloff", "flatness", "energy_db")
# clips per block when computing the MFCC and spectral descriptors (float64
# temporaries of a few clips' spectrograms)
_STATS_BLOCK = 64


def _frame_statistics(G, names):
    """Statistics over frames of ``G`` (n_clips, n_rows, n_frames), one array each.

    Sums of squares (or of values) near the dtype's limit overflow: those clips
    are recomputed in float64, each row scaled by its peak (every statistic is
    positively homogeneous).
    """
    parts = []
    for name in names:
        with np.errstate(over="ignore", invalid="ignore"):
            values = _STATISTICS[name](G)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            G_bad = G[bad].astype(np.float64)
            scale = np.abs(G_bad).max(axis=2, keepdims=True)
            scale[scale == 0] = 1.0
            values[bad] = _STATISTICS[name](G_bad / scale) * scale[:, :, 0]
        parts.append(values)
    return parts


def _mfcc(S, n_mfcc):
    """First ``n_mfcc`` DCT-II (orthonormal) coefficients over the mel axis.

    Equal to ``librosa.feature.mfcc(S=S, n_mfcc=n_mfcc)`` on each clip. Clips
    whose transform overflows the dtype (its intermediate sums) are recomputed
    in float64, scaled by their peak (the DCT is linear); coefficients beyond
    the dtype's range raise a ``ValueError``.
    """
    from scipy.fft import dct

    with np.errstate(over="ignore", invalid="ignore"):
        C = dct(S, type=2, norm="ortho", axis=1)[:, :n_mfcc]
    bad = ~np.isfinite(C).all(axis=(1, 2))
    if bad.any():
        S_bad = S[bad].astype(np.float64)
        scale = np.abs(S_bad).max(axis=(1, 2), keepdims=True)
        scale[scale == 0] = 1.0
        with np.errstate(over="ignore"):
            C[bad] = (
                dct(S_bad / scale, type=2, norm="ortho", axis=1)[:, :n_mfcc] * scale
            )
    return C


def _spectral_descriptors(S):
    """Per-frame descriptors of the mel power spectrum ``P = 10 ** (S / 10)``.

    Returns float64 ``(n_clips, 5, n_frames)``: centroid, bandwidth and 85 %
    rolloff in mel bins (0 = lowest band), flatness, and energy in dB. Computed
    relative to each frame's peak band, so no power over- or underflows: the
    first four do not change when ``P`` is scaled, and the energy is the peak
    plus ``10 log10`` of the relative powers' sum.
    """
    S = S.astype(np.float64)
    n_mels = S.shape[1]
    peak = S.max(axis=1, keepdims=True)
    with np.errstate(over="ignore", under="ignore"):
        rel = S - peak  # <= 0; -inf where the difference is beyond float64
        P = 10.0 ** (rel / 10.0)  # in [0, 1], 1 at the peak band
        log_gmean = rel.mean(axis=1) * (np.log(10.0) / 10.0)
    total = P.sum(axis=1)  # >= 1
    bins = np.arange(n_mels, dtype=np.float64)[None, :, None]
    centroid = (bins * P).sum(axis=1) / total
    spread = ((bins - centroid[:, None, :]) ** 2 * P).sum(axis=1) / total
    cumulative = np.cumsum(P, axis=1)
    rolloff = np.argmax(cumulative >= 0.85 * cumulative[:, -1:, :], axis=1)
    flatness = np.exp(log_gmean) / (total / n_mels)
    energy_db = peak[:, 0, :] + 10.0 * np.log10(total)
    return np.stack(
        [centroid, np.sqrt(spread), rolloff.astype(np.float64), flatness, energy_db],
        axis=1,
    )


def _raise_out_of_range(rows, S, what):
    """Raise the ValueError for clips whose features the dtype cannot hold."""
    raise ValueError(
        f"BandStatistics' {what} of row(s) {', '.join(map(str, rows[:10]))} exceed "
        f"the {S.dtype} range (the input reaches {np.abs(S[rows]).max():.3g}); "
        "log-mel spectrograms in dB are far smaller"
    )


class BandStatistics(_SpectrogramStep):
    """Per-clip statistics over time of each clip's spectrogram.

    Turns flattened ``(n_mels, n_frames)`` log-mel spectrograms (in dB) into a
    small feature vector per clip, the input of classical detectors such as
    :class:`~sklearn_asd.KNNDetector` or
    :class:`~sklearn.ensemble.IsolationForest`. Per frame it takes one or more
    groups of values (``features``), then summarises each over the frames with
    ``statistics``:

    - ``"bands"``: each mel band (``n_mels`` values);
    - ``"mfcc"``: the first ``n_mfcc`` mel-frequency cepstral coefficients, the
      orthonormal DCT-II of the log-mel spectrogram over the mel axis (equal to
      ``librosa.feature.mfcc(S=S, n_mfcc=n_mfcc)``);
    - ``"spectral"``: 5 descriptors of the mel power spectrum
      ``P = 10 ** (S / 10)``, in mel-bin units (0 = lowest band): the centroid,
      the bandwidth (square root of the second central moment), the rolloff
      (first band where the cumulative power reaches 85 % of the frame's), the
      flatness (geometric over arithmetic mean of ``P``, in (0, 1]) and the
      energy in dB (``10 log10`` of the sum of ``P``).

    Parameters
    ----------
    n_mels : int, default=128
        Number of mel bands of the flattened input; must match the upstream
        :class:`LogMelSpectrogram` (a mismatch raises a ``ValueError``).
    statistics : tuple of {"mean", "std", "min", "max"}, default=("mean", "std")
        Statistics computed over frames, in this order in the output.
    features : tuple of {"bands", "mfcc", "spectral"}, default=("bands",)
        Groups of per-frame values to summarise, in this order in the output.
        The default gives each band's statistics only.
    n_mfcc : int, default=20
        Number of cepstral coefficients of the ``"mfcc"`` group, at most
        ``n_mels``. Unused without ``"mfcc"``.

    Attributes
    ----------
    n_frames_ : int
        Number of frames per clip seen in ``fit``.
    n_features_in_ : int
        Number of input features (``n_mels * n_frames_``).

    See Also
    --------
    LogMelSpectrogram : Produces the spectrograms summarised here.
    sklearn_asd.KNNDetector : A detector for these features.

    Notes
    -----
    The output holds the groups in the order of ``features``; inside a group it
    is statistic-major (every band's mean, then every band's standard
    deviation, ...). :meth:`get_feature_names_out` names each column, e.g.
    ``"mean_mel0"``, ``"std_mfcc3"`` or ``"mean_centroid"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd.features import BandStatistics
    >>> S = np.array([[1.0, 3.0, 10.0, 10.0]])  # 2 bands x 2 frames
    >>> BandStatistics(n_mels=2).fit_transform(S)
    array([[ 2., 10.,  1.,  0.]])
    >>> stats = BandStatistics(n_mels=2, statistics=("mean",),
    ...                        features=("bands", "spectral")).fit(S)
    >>> stats.get_feature_names_out().tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['mean_mel0', 'mean_mel1', 'mean_centroid', 'mean_bandwidth',
     'mean_rolloff', 'mean_flatness', 'mean_energy_db']
    """

    _parameter_constraints: dict = {
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "statistics": [tuple, list],
        "features": [tuple, list],
        "n_mfcc": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, *, n_mels=128, statistics=("mean", "std"), features=("bands",), n_mfcc=20
    ):
        self.n_mels = n_mels
        self.statistics = statistics
        self.features = features
        self.n_mfcc = n_mfcc

    def __setstate__(self, state):
        # models pickled before ``features``/``n_mfcc`` existed: the old output
        state = {"features": ("bands",), "n_mfcc": 20, **state}
        super().__setstate__(state)

    def _check_params(self):
        self._check_statistics()
        self._check_features()

    def _check_statistics(self):
        stats = tuple(self.statistics)
        unknown = [s for s in stats if s not in _STATISTICS]
        if not stats or unknown:
            raise ValueError(
                f"statistics must be a non-empty sequence of {sorted(_STATISTICS)}, "
                f"got {self.statistics!r}"
            )
        return stats

    def _check_features(self):
        features = tuple(self.features)
        if (
            not features
            or any(not isinstance(f, str) or f not in _FEATURES for f in features)
            or len(set(features)) != len(features)
        ):
            raise ValueError(
                f"features must be a non-empty sequence of distinct names among "
                f"{list(_FEATURES)}, got {self.features!r}"
            )
        if "mfcc" in features and self.n_mfcc > self.n_mels:
            raise ValueError(
                f"n_mfcc={self.n_mfcc} exceeds n_mels={self.n_mels}: the DCT over "
                f"{self.n_mels} mel bands has {self.n_mels} coefficients"
            )
        return features

    def _group_values(self, feature, S):
        """Statistics of one group for every clip: list of (n_clips, n_rows)."""
        stats = self._check_statistics()
        if feature == "bands":
            return _frame_statistics(S, stats)
        parts = [[] for _ in stats]
        for start in range(0, S.shape[0], _STATS_BLOCK):
            block = S[start : start + _STATS_BLOCK]
            if feature == "mfcc":
                C = _mfcc(block, self.n_mfcc)
                bad = ~np.isfinite(C).all(axis=(1, 2))
                if bad.any():
                    _raise_out_of_range(start + np.flatnonzero(bad), S, "MFCCs")
                values = _frame_statistics(C, stats)
            else:
                values = _frame_statistics(_spectral_descriptors(block), stats)
            for part, value in zip(parts, values):
                part.append(value)
        with np.errstate(over="ignore"):  # reported below
            return [np.concatenate(part).astype(S.dtype, copy=False) for part in parts]

    @_substitute(X=_SPECTROGRAMS_DOC)
    def transform(self, X):
        """Compute the statistics of every group.

        Parameters
        ----------
        {X}

        Returns
        -------
        X_out : ndarray of shape (n_clips, n_features_out)
            The groups of ``features`` in order, each statistic-major: all rows'
            first statistic, then the second, ... (see
            :meth:`get_feature_names_out`).
        """
        check_is_fitted(self)
        self._check_params()
        X, n_frames = self._validate_spectrograms(X, reset=False)
        S = X.reshape(X.shape[0], self.n_mels, n_frames)
        parts = []
        for feature in self._check_features():
            parts.extend(self._group_values(feature, S))
        out = np.concatenate(parts, axis=1)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if bad.size:
            _raise_out_of_range(bad, S, "features")
        return out

    def _group_names(self, feature):
        if feature == "bands":
            return [f"mel{j}" for j in range(self.n_mels)]
        if feature == "mfcc":
            return [f"mfcc{j}" for j in range(self.n_mfcc)]
        return list(_SPECTRAL)

    def get_feature_names_out(self, input_features=None):
        """Get the output feature names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_`` when given; the output
            names do not depend on it.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"<statistic>_<value>"`` per column, e.g. ``"mean_mel0"``,
            ``"std_mfcc1"``, ``"max_energy_db"``.
        """
        check_is_fitted(self, "n_features_in_")
        _check_feature_names_in(self, input_features, generate_names=False)
        names = [
            f"{stat}_{name}"
            for feature in self._check_features()
            for stat in self._check_statistics()
            for name in self._group_names(feature)
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
