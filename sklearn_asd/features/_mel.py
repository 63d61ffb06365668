# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""LogMelSpectrogram: waveforms to flattened log-mel spectrograms."""

import sys
from numbers import Integral, Real

import numpy as np
from scipy.signal import get_window
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
)
from threadpoolctl import threadpool_limits

from sklearn_asd.utils._layout import register_layout
from sklearn_asd.utils._parallel import _n_jobs_threads, _run_in_blocks
from sklearn_asd.utils._validation import _validate_float_rows

__all__ = []

# The DCASE baselines clip the power mel spectrogram at Python's float epsilon.
_LOG_EPS = sys.float_info.epsilon
# Clips per FFT call in LogMelSpectrogram. Small batches keep the float64 frame
# and spectrum temporaries (~5 MB per 10-s clip at n_fft=1024) in cache; measured
# on 2 cores, 1-4 clips per call beat 16 (see benchmarks/bench_features.py).
_CHUNK_SIZE = 1


def _frame_count(n_samples, n_fft, hop_length, center):
    if center:  # padded by n_fft // 2 on both sides (n_fft - 1 for odd n_fft)
        n_samples += 2 * (n_fft // 2)
    return 1 + (n_samples - n_fft) // hop_length


def _log_mel_batch(
    y, *, n_fft, hop_length, center, pad_mode, window, mel_basis, power, complex_dtype
):
    """Log-mel spectrograms of a batch of waveforms ``y`` (n, n_samples)."""
    if center:
        pad = n_fft // 2
        y = np.pad(y, [(0, 0), (pad, pad)], mode=pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft, axis=-1)[
        :, ::hop_length
    ]
    # As librosa: the window is float64, so the FFT runs in float64 and is then
    # rounded to the waveform's complex type; |.| ** power as librosa computes it.
    with np.errstate(over="ignore", invalid="ignore"):
        spec = np.fft.rfft(frames * window, axis=-1).astype(complex_dtype, copy=False)
        S = np.abs(spec) ** power  # (n, n_frames, 1 + n_fft // 2)
        mel = np.matmul(mel_basis, S.transpose(0, 2, 1))  # (n, n_mels, n_frames)
    overflow = ~np.isfinite(mel).all(axis=(1, 2))
    np.maximum(mel, _LOG_EPS, out=mel)
    np.log10(mel, out=mel)
    mel *= 20.0 / power
    if overflow.any():
        # huge amplitudes (e.g. |y| > ~1e19 in float32): the power spectrum
        # overflowed to inf/NaN; recompute those clips from scaled samples
        mel[overflow] = _log_mel_rescaled(
            frames[overflow], window=window, mel_basis=mel_basis, power=power
        )
    return mel.reshape(mel.shape[0], -1)


def _log_mel_rescaled(frames, *, window, mel_basis, power):
    """Overflow-free log-mel of framed clips ``(n, n_frames, n_fft)``, float64.

    Uses ``log10(max(a**p * M, eps)) = max(p * log10(a) + log10(M), log10(eps))``
    where ``M`` is the mel power spectrum of the clip divided by its peak ``a``.
    """
    peak = np.abs(frames).max(axis=(1, 2), keepdims=True).astype(np.float64)
    spec = np.fft.rfft(frames / peak * window, axis=-1)
    S = np.abs(spec) ** power
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        mel = np.matmul(mel_basis.astype(np.float64), S.transpose(0, 2, 1))
        db = np.log10(mel) + power * np.log10(peak)
    db = np.maximum(db, np.log10(_LOG_EPS)) * (20.0 / power)
    if not np.isfinite(db).all():
        raise ValueError(
            f"the log-mel spectrogram of a waveform with peak amplitude "
            f"{float(peak.max()):.3g} is not finite with power={power}: the "
            "waveforms' scale (or power) is far outside the audio range"
        )
    return db


class LogMelSpectrogram(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Log-mel spectrograms of waveforms, flattened to one row per clip.

    Computes, for each clip, the DCASE baseline feature
    ``20 / power * log10(max(S, eps))`` where ``S`` is
    ``librosa.feature.melspectrogram(y=clip, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels, power=power, fmin=fmin, fmax=fmax,
    center=center, pad_mode=pad_mode)`` (Hann window, Slaney mel filters) and
    ``eps = sys.float_info.epsilon``. With ``power=2`` this is ``10 * log10`` of
    the power mel spectrogram. The clips are processed in batches with one FFT
    call per batch (and threads with ``n_jobs``), which is faster than a
    per-clip librosa loop and gives the same values within 1e-4 dB.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the waveforms, in Hz.
    n_fft : int, default=1024
        FFT window length in samples.
    hop_length : int, default=512
        Samples between successive frames.
    n_mels : int, default=128
        Number of mel bands.
    power : float, default=2.0
        Exponent of the magnitude spectrogram (2 = power, 1 = magnitude).
    fmin : float, default=0.0
        Lowest frequency of the mel filters, in Hz.
    fmax : float or None, default=None
        Highest frequency of the mel filters; ``None`` means ``sr / 2``.
    center : bool, default=True
        Pad the signal by ``n_fft // 2`` on both sides so that frame ``t`` is
        centred at sample ``t * hop_length``.
    pad_mode : {"reflect", "constant", "edge", "symmetric", "wrap"}, \
            default="reflect"
        Padding mode when ``center=True``. The DCASE baselines ran librosa 0.8,
        whose default was ``"reflect"`` (librosa >= 0.10 defaults to
        ``"constant"``).
    n_jobs : int, default=None
        Number of threads processing batches of clips in parallel. ``None``
        means 1, ``-1`` all cores.

    Attributes
    ----------
    n_mels_ : int
        Number of mel bands of the output.
    n_frames_ : int
        Number of frames per clip: ``X_out.reshape(n, n_mels_, n_frames_)``.
    n_features_in_ : int
        Number of samples per input waveform.

    See Also
    --------
    AudioLoader : Reads files into the waveforms this transformer takes.
    MedianFilter : Suppresses short-time noise in the spectrograms.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd.features import LogMelSpectrogram
    >>> rng = np.random.default_rng(0)
    >>> waves = rng.standard_normal((3, 16000)).astype(np.float32)
    >>> mel = LogMelSpectrogram(n_mels=64).fit(waves)
    >>> X = mel.transform(waves)
    >>> X.shape, mel.n_mels_, mel.n_frames_
    ((3, 2048), 64, 32)
    >>> X.reshape(3, mel.n_mels_, mel.n_frames_).shape
    (3, 64, 32)
    """

    _parameter_constraints: dict = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 1, None, closed="left")],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "power": [Interval(Real, 0, None, closed="neither")],
        "fmin": [Interval(Real, 0, None, closed="left")],
        "fmax": [Interval(Real, 0, None, closed="neither"), None],
        "center": ["boolean"],
        "pad_mode": [StrOptions({"reflect", "constant", "edge", "symmetric", "wrap"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        sr=16000,
        n_fft=1024,
        hop_length=512,
        n_mels=128,
        power=2.0,
        fmin=0.0,
        fmax=None,
        center=True,
        pad_mode="reflect",
        n_jobs=None,
    ):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.power = power
        self.fmin = fmin
        self.fmax = fmax
        self.center = center
        self.pad_mode = pad_mode
        self.n_jobs = n_jobs

    def _validate_waveforms(self, X, reset):
        X = _validate_float_rows(self, X, reset=reset)
        n_samples = X.shape[1]
        if not self.center and n_samples < self.n_fft:
            raise ValueError(
                f"waveforms have {n_samples} samples, fewer than n_fft={self.n_fft}: "
                "use shorter n_fft or center=True"
            )
        if self.center and self.pad_mode == "reflect" and n_samples <= self.n_fft // 2:
            raise ValueError(
                f"waveforms have {n_samples} samples, but reflect padding by "
                f"n_fft // 2 = {self.n_fft // 2} needs more than that: use a "
                "shorter n_fft or another pad_mode"
            )
        return X

    def _check_frequencies(self):
        fmax = self.sr / 2 if self.fmax is None else self.fmax
        if fmax > self.sr / 2:
            raise ValueError(f"fmax={fmax} exceeds the Nyquist frequency {self.sr / 2}")
        if self.fmin >= fmax:
            raise ValueError(f"fmin={self.fmin} must be below fmax={fmax}")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the waveforms and record the output shape.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)
            Waveforms sampled at ``sr`` Hz.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._check_frequencies()
        X = self._validate_waveforms(X, reset=True)
        self.n_mels_ = self.n_mels
        self.n_frames_ = _frame_count(
            X.shape[1], self.n_fft, self.hop_length, self.center
        )
        return self

    def transform(self, X):
        """Compute the flattened log-mel spectrograms.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)
            Waveforms sampled at ``sr`` Hz.

        Returns
        -------
        X_out : ndarray of shape (n_clips, n_mels * n_frames)
            Log-mel spectrograms in dB, flattened in C order (mel band major).
            float32 for float32 input, float64 otherwise.
        """
        import librosa

        check_is_fitted(self)
        X = self._validate_waveforms(X, reset=False)
        dtype = X.dtype
        window = get_window("hann", self.n_fft, fftbins=True)  # float64
        mel_basis = librosa.filters.mel(
            sr=self.sr,
            n_fft=self.n_fft,
            n_mels=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
            dtype=dtype,
        )
        kwargs = {
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "center": self.center,
            "pad_mode": self.pad_mode,
            "window": window,
            "mel_basis": mel_basis,
            "power": float(self.power),
            "complex_dtype": np.result_type(dtype, np.complex64),
        }
        out = np.empty((X.shape[0], self.n_mels_ * self.n_frames_), dtype=dtype)

        def fill(start, stop):
            for a in range(start, stop, _CHUNK_SIZE):
                b = min(a + _CHUNK_SIZE, stop)
                out[a:b] = _log_mel_batch(X[a:b], **kwargs)

        if _n_jobs_threads(self.n_jobs) == 1:
            fill(0, X.shape[0])
        else:
            # numpy's FFT and BLAS release the GIL; one BLAS thread per worker
            # avoids oversubscription
            with threadpool_limits(limits=1, user_api="blas"):
                _run_in_blocks(fill, X.shape[0], self.n_jobs)
        return register_layout(out, self.n_mels_, self.n_frames_, "LogMelSpectrogram")

    @property
    def _n_features_out(self):
        return self.n_mels_ * self.n_frames_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ------------------------------------------------------------- spectrogram steps
