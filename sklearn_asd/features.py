# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Row-preserving feature transformers for machine sounds.

Data flow of an ASD pipeline::

    file paths -> AudioLoader -> LogMelSpectrogram -> MedianFilter -> detector

Every step takes and returns a 2-D array with one row per clip: waveforms
``(n_clips, n_samples)``, then flattened log-mel spectrograms
``(n_clips, n_mels * n_frames)`` (reshape with ``X.reshape(n, n_mels, n_frames)``).
"""

import itertools
import os
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
from scipy import ndimage
from scipy.signal import get_window
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import threadpool_limits

from sklearn_asd.utils._layout import check_spectrogram_layout, register_layout
from sklearn_asd.utils._validation import _check_finite_rows

__all__ = ["AudioLoader", "BandStatistics", "LogMelSpectrogram", "MedianFilter"]

# The DCASE baselines clip the power mel spectrogram at Python's float epsilon.
_LOG_EPS = sys.float_info.epsilon
# Clips per FFT call in LogMelSpectrogram. Small batches keep the float64 frame
# and spectrum temporaries (~5 MB per 10-s clip at n_fft=1024) in cache; measured
# on 2 cores, 1-4 clips per call beat 16 (see benchmarks/bench_features.py).
_CHUNK_SIZE = 1


def _n_jobs_threads(n_jobs):
    """Return the number of worker threads joblib would use for ``n_jobs``."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(os.cpu_count() + 1 + n_jobs, 1)
    return n_jobs


def _run_in_blocks(fn, n_items, n_jobs):
    """Call ``fn(start, stop)`` on contiguous blocks of rows, one block per thread.

    One task per thread, on a plain thread pool: joblib's threading backend cost
    more than it saved on per-clip work of about a millisecond (measured: two
    joblib threads were slower than one).
    """
    n_threads = min(_n_jobs_threads(n_jobs), n_items)
    if n_threads <= 1:
        fn(0, n_items)
        return
    bounds = np.linspace(0, n_items, n_threads + 1).astype(int)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(fn, a, b) for a, b in itertools.pairwise(bounds)]
        for future in futures:
            future.result()  # re-raises the first worker error


# --------------------------------------------------------------------------- audio


def _wav_truncation(path):
    """Return a message if a RIFF/WAVE file holds fewer bytes than its header says.

    libsndfile silently reads what is there when a wav file was cut short (for
    example an interrupted copy); that would become a silently shorter clip.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if chunk_id == b"data":
                    # 0 and 0xFFFFFFFF are placeholders of streamed/RF64 files
                    if chunk_size in (0, 0xFFFFFFFF):
                        return None
                    available = size - (pos + 8)
                    if available < chunk_size:
                        return (
                            f"the file is truncated: its header declares "
                            f"{chunk_size} bytes of audio but only {available} "
                            "are present"
                        )
                    return None
                pos += 8 + chunk_size + (chunk_size & 1)
    except OSError:
        return None
    return None


def _read_audio(path, *, sr, mono):
    """Read one file as float32 mono at ``sr``; every error names the file."""
    import soundfile as sf

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"audio file not found: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"expected an audio file, got a directory: {path!r}")
    truncated = _wav_truncation(path)
    if truncated is not None:
        raise ValueError(f"cannot read audio file {path!r}: {truncated}")
    try:
        y, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot read audio file {path!r} (not a readable wav/flac file?): {exc}"
        ) from None
    if y.shape[0] == 0:
        raise ValueError(f"audio file {path!r} holds no samples (zero-length audio)")
    if y.shape[1] > 1:
        if not mono:
            raise ValueError(
                f"audio file {path!r} has {y.shape[1]} channels, but AudioLoader "
                "returns one waveform per clip: set mono=True to average the channels"
            )
        y = y.mean(axis=1, dtype=np.float32)
    else:
        y = y[:, 0]
    if not np.isfinite(y).all():
        # a float64 file may hold finite samples beyond the float32 range
        if np.isfinite(sf.read(path, dtype="float64")[0]).all():
            raise ValueError(
                f"audio file {path!r} holds samples beyond the float32 range "
                "(|sample| > 3.4e38), which AudioLoader returns: rescale the file"
            )
        raise ValueError(f"audio file {path!r} contains NaN or infinite samples")
    if file_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    return y


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
    def fit(self, X, y=None):
        """Set the output length from ``duration`` or from the first clip.

        Parameters
        ----------
        X : array-like of shape (n_clips,) or (n_clips, 1)
            Paths of wav/flac files.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted loader.
        """
        paths = _check_paths(X)
        self.n_features_in_ = 1
        self._set_length(self._read(paths[0]) if self.duration is None else None)
        return self

    def transform(self, X):
        """Read, convert and pad/crop the files.

        Parameters
        ----------
        X : array-like of shape (n_clips,) or (n_clips, 1)
            Paths of wav/flac files.

        Returns
        -------
        waveforms : ndarray of shape (n_clips, n_samples), dtype float32
            One mono waveform per file, at ``sr`` Hz.
        """
        check_is_fitted(self)
        return self._load(_check_paths(X))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and transform, reading every file once.

        Parameters
        ----------
        X : array-like of shape (n_clips,) or (n_clips, 1)
            Paths of wav/flac files.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        waveforms : ndarray of shape (n_clips, n_samples), dtype float32
            One mono waveform per file, at ``sr`` Hz.
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
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float32, np.float64],
            ensure_all_finite=False,
        )
        _check_finite_rows(X)
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


class _SpectrogramStep(TransformerMixin, BaseEstimator):
    """Shared validation of steps that reshape flattened spectrograms."""

    def _check_params(self):
        """Validate parameters beyond the declarative constraints (hook)."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the spectrogram layout.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened spectrograms.
        y : Ignored
            Not used, present for API consistency.

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
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float32, np.float64],
            ensure_all_finite=False,
        )
        _check_finite_rows(X)
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

    def transform(self, X):
        """Median-filter every clip's spectrogram.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened spectrograms.

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

    def transform(self, X):
        """Compute the statistics of every group.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened spectrograms.

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
