# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""AudioLoader: audio files to fixed-length waveforms."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    check_is_fitted,
)

from sklearn_asd.utils._audio import _read_audio
from sklearn_asd.utils._docstring import _Y_IGNORED_DOC, _substitute
from sklearn_asd.utils._parallel import _run_in_blocks

__all__ = []


_PATHS_DOC = """X : array-like of shape (n_clips,) or (n_clips, 1)
    Paths of wav/flac files."""
_WAVEFORMS_DOC = """waveforms : ndarray of shape (n_clips, n_samples), dtype float32
    One mono waveform per file, at ``sr`` Hz."""


def _check_paths(X):
    """Return a 1-D object array of paths from a list, array or (n, 1) column."""
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            "AudioLoader expects an array-like of file paths, got a single path "
            f"{X!r}: wrap it in a list"
        )
    try:
        paths = np.asarray(X, dtype=object)
    except Exception as exc:  # ragged or otherwise unusable input
        raise TypeError(
            f"AudioLoader expects an array-like of file paths: {exc}"
        ) from None
    if paths.ndim == 2 and paths.shape[1] == 1:
        paths = paths[:, 0]
    if paths.ndim != 1:
        raise ValueError(
            "AudioLoader expects a 1-D array-like of file paths (or a single "
            f"column), got an array of shape {paths.shape}"
        )
    if paths.size == 0:
        raise ValueError("AudioLoader got an empty list of file paths")
    for i, p in enumerate(paths):
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(
                f"AudioLoader expects file paths (str or os.PathLike); element {i} "
                f"is {type(p).__name__}: {p!r}"
            )
    return np.array([os.fspath(p) for p in paths], dtype=object)


class AudioLoader(TransformerMixin, BaseEstimator):
    """Read audio files into a 2-D array of fixed-length mono waveforms.

    Reads wav and flac files (8/16/24/32-bit PCM and float) with soundfile,
    averages the channels of multi-channel files when ``mono=True``, resamples
    other sample rates to ``sr`` (a documented conversion, with soxr as librosa
    does) and pads with zeros or crops (at the end) to ``duration`` seconds.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the returned waveforms, in Hz. Files at another rate are
        resampled.
    duration : float or None, default=None
        Length of every returned waveform, in seconds: longer clips are cropped,
        shorter ones padded with zeros at the end. ``None`` uses the length of the
        first clip seen in ``fit`` and raises a ``ValueError`` naming any file of a
        different length.
    mono : bool, default=True
        Average the channels of multi-channel files. With ``mono=False`` a
        multi-channel file raises a ``ValueError``.
    n_jobs : int, default=None
        Number of threads reading files in parallel. ``None`` means 1, ``-1``
        all cores.

    Attributes
    ----------
    n_samples_ : int
        Number of samples of every returned waveform.
    n_features_in_ : int
        Always 1: the input is one path per row.

    See Also
    --------
    LogMelSpectrogram : Log-mel spectrograms of the waveforms.
    sklearn_asd.datasets.load_dcase : File names and labels of a DCASE tree.

    Notes
    -----
    The input is a list of file paths, not a numeric array, so this transformer is
    exempt from scikit-learn's common estimator checks; it has its own tests. Errors
    (missing, unreadable, truncated, zero-length or non-finite files) are
    ``FileNotFoundError`` or ``ValueError`` whose message names the file.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np, soundfile as sf
    >>> from sklearn_asd.features import AudioLoader
    >>> tmp = tempfile.mkdtemp()
    >>> for i, rate in enumerate([16000, 8000]):
    ...     t = np.arange(rate) / rate
    ...     sf.write(os.path.join(tmp, f"clip{i}.wav"), 0.1 * np.sin(2e3 * t), rate)
    >>> paths = [os.path.join(tmp, "clip0.wav"), os.path.join(tmp, "clip1.wav")]
    >>> X = AudioLoader(sr=16000, duration=1.0).fit_transform(paths)
    >>> X.shape, X.dtype
    ((2, 16000), dtype('float32'))
    """

    _parameter_constraints: dict = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither"), None],
        "mono": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, sr=16000, duration=None, mono=True, n_jobs=None):
        self.sr = sr
        self.duration = duration
        self.mono = mono
        self.n_jobs = n_jobs

    def _read(self, path):
        return _read_audio(path, sr=self.sr, mono=self.mono)

    def _load(self, paths, first=None):
        """Read every file into a zero-padded (n_clips, n_samples_) array."""
        n = self.n_samples_
        out = np.zeros((len(paths), n), dtype=np.float32)

        def fill(start, stop):
            for i in range(start, stop):
                y = first if (i == 0 and first is not None) else self._read(paths[i])
                if self.duration is None and y.shape[0] != n:
                    raise ValueError(
                        f"audio file {paths[i]!r} has {y.shape[0]} samples at "
                        f"{self.sr} Hz, but the first clip had {n}: clips of "
                        "different lengths need duration= (seconds) to pad or crop "
                        "them to one length"
                    )
                m = min(n, y.shape[0])
                out[i, :m] = y[:m]

        _run_in_blocks(fill, len(paths), self.n_jobs)
        return out

    def _set_length(self, first_clip):
        if self.duration is None:
            self.n_samples_ = int(first_clip.shape[0])
        else:
            self.n_samples_ = max(round(self.duration * self.sr), 1)

    @_fit_context(prefer_skip_nested_validation=True)
    @_substitute(X=_PATHS_DOC, y=_Y_IGNORED_DOC)
    def fit(self, X, y=None):
        """Set the output length from ``duration`` or from the first clip.

        Parameters
        ----------
        {X}
        {y}

        Returns
        -------
        self : object
            Fitted loader.
        """
        paths = _check_paths(X)
        self.n_features_in_ = 1
        self._set_length(self._read(paths[0]) if self.duration is None else None)
        return self

    @_substitute(X=_PATHS_DOC, waveforms=_WAVEFORMS_DOC)
    def transform(self, X):
        """Read, convert and pad/crop the files.

        Parameters
        ----------
        {X}

        Returns
        -------
        {waveforms}
        """
        check_is_fitted(self)
        return self._load(_check_paths(X))

    @_fit_context(prefer_skip_nested_validation=True)
    @_substitute(X=_PATHS_DOC, y=_Y_IGNORED_DOC, waveforms=_WAVEFORMS_DOC)
    def fit_transform(self, X, y=None):
        """Fit and transform, reading every file once.

        Parameters
        ----------
        {X}
        {y}

        Returns
        -------
        {waveforms}
        """
        paths = _check_paths(X)
        first = self._read(paths[0])
        self.n_features_in_ = 1
        self._set_length(first)
        return self._load(paths, first=first)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


# ------------------------------------------------------------------------- log-mel
