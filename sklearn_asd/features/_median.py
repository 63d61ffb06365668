# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""MedianFilter, and the base of the steps that take spectrograms."""

from numbers import Integral

from scipy import ndimage
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
)

from sklearn_asd.utils._docstring import _Y_IGNORED_DOC, _substitute
from sklearn_asd.utils._layout import check_spectrogram_layout, register_layout
from sklearn_asd.utils._validation import _validate_float_rows

__all__ = []


#: ``X`` of the steps that take flattened spectrograms.
_SPECTROGRAMS_DOC = """X : array-like of shape (n_clips, n_mels * n_frames)
    Flattened spectrograms."""


class _SpectrogramStep(TransformerMixin, BaseEstimator):
    """Shared validation of steps that reshape flattened spectrograms."""

    def _check_params(self):
        """Validate parameters beyond the declarative constraints (hook)."""

    @_fit_context(prefer_skip_nested_validation=True)
    @_substitute(X=_SPECTROGRAMS_DOC, y=_Y_IGNORED_DOC)
    def fit(self, X, y=None):
        """Check the spectrogram layout.

        Parameters
        ----------
        {X}
        {y}

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._check_params()
        _, self.n_frames_ = self._validate_spectrograms(X, reset=True)
        return self

    def _validate_spectrograms(self, X, reset):
        X_raw = X
        X = _validate_float_rows(self, X, reset=reset)
        n_frames = check_spectrogram_layout(
            X_raw, X.shape[1], self.n_mels, type(self).__name__
        )
        return X, n_frames


class MedianFilter(OneToOneFeatureMixin, _SpectrogramStep):
    """Median filter over each clip's (mel band x frame) spectrogram.

    The seed system's tool "to suppress short-time noise": with the default
    kernel of 1 band x 5 frames, any event shorter than 3 frames in a band is
    replaced by the median of its neighbours in time, while stationary spectra
    pass unchanged. It is a Pipeline step, applied identically at fit and at
    score time. A median filter also removes genuine short anomalies (clicks,
    impacts); compare detectors with and without it.

    Parameters
    ----------
    kernel_size : tuple of (int, int), default=(1, 5)
        Window size along (mel bands, frames). Both must be odd so that the window
        is centred; ``(1, 1)`` is the identity.
    n_mels : int, default=128
        Number of mel bands of the flattened input, which must be the
        ``n_mels`` of the upstream :class:`LogMelSpectrogram`: a mismatch raises a
        ``ValueError``.
    mode : {"nearest", "reflect", "mirror", "wrap"}, default="nearest"
        How the window extends past the first and last frame (and band), as in
        :func:`scipy.ndimage.median_filter`. The default ``"nearest"`` repeats the
        edge frame, so a stationary spectrum stays unchanged at the borders too.

    Attributes
    ----------
    n_frames_ : int
        Number of frames per clip seen in ``fit``.
    n_features_in_ : int
        Number of input features (``n_mels * n_frames_``).

    See Also
    --------
    LogMelSpectrogram : Produces the spectrograms this step filters.
    sklearn_asd.augment.RandomMedianFilter : Random kernels as a fit-time
        augmentation (not a Pipeline step).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd.features import MedianFilter
    >>> S = np.zeros((1, 2, 6), dtype=np.float32)
    >>> S[0, 0, 3] = 50.0  # a one-frame click in band 0
    >>> MedianFilter(kernel_size=(1, 3), n_mels=2).fit_transform(S.reshape(1, -1))
    array([[0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "kernel_size": [tuple, list],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions({"nearest", "reflect", "mirror", "wrap"})],
    }

    def __init__(self, *, kernel_size=(1, 5), n_mels=128, mode="nearest"):
        self.kernel_size = kernel_size
        self.n_mels = n_mels
        self.mode = mode

    def _check_params(self):
        self._kernel()

    def _kernel(self):
        k = tuple(self.kernel_size)
        if len(k) != 2 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 and v % 2
            for v in k
        ):
            raise ValueError(
                "kernel_size must be a pair of positive odd integers (mel bands, "
                f"frames), got {self.kernel_size!r}"
            )
        return k

    @_substitute(X=_SPECTROGRAMS_DOC)
    def transform(self, X):
        """Median-filter every clip's spectrogram.

        Parameters
        ----------
        {X}

        Returns
        -------
        X_out : ndarray of shape (n_clips, n_mels * n_frames)
            Filtered spectrograms, same dtype as ``X``.
        """
        check_is_fitted(self)
        X, n_frames = self._validate_spectrograms(X, reset=False)
        k_mel, k_frame = self._kernel()
        S = X.reshape(X.shape[0], self.n_mels, n_frames)
        if (k_mel, k_frame) == (1, 1):
            out = S.copy()
        else:
            out = ndimage.median_filter(S, size=(1, k_mel, k_frame), mode=self.mode)
        out = out.reshape(X.shape[0], -1)
        return register_layout(out, self.n_mels, n_frames, "MedianFilter")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
