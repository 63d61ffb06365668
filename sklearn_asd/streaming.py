# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Score long recordings window by window, in bounded memory.

A fitted pipeline scores clips of the length it was trained on (say 10 s). A
monitoring recording of an hour is scored as a sequence of such windows, moved
by ``hop_length`` samples. :func:`score_stream` reads the file block by block
(never the whole file) and runs ``chunk_windows`` windows at a time through the
pipeline steps after the loader; :func:`iter_stream_scores` yields the scores of
each chunk as soon as it is complete (live use).
"""

import os
from collections.abc import Iterable
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.features import AudioLoader
from sklearn_asd.utils._audio import _check_audio_path
from sklearn_asd.utils._response import _anomaly_scores

__all__ = ["iter_stream_scores", "score_stream"]

# Frames read from a file per call (4 s at 16 kHz: 256 kB of float32 per channel).
_BLOCK_FRAMES = 65536


# ------------------------------------------------------------------- pipeline


def _stream_setup(pipeline):
    """Return ``(front, detector, window, sr, mono)`` of a fitted pipeline.

    ``front`` is the list of fitted steps between the waveforms and the detector
    (the loader excluded), ``window`` the number of samples of one clip.
    """
    steps = getattr(pipeline, "steps", None)
    if not steps:
        raise ValueError(
            "score_stream needs a fitted Pipeline that starts with an AudioLoader "
            "or a waveform transformer such as LogMelSpectrogram; got "
            f"{type(pipeline).__name__}"
        )
    check_is_fitted(pipeline)
    first = steps[0][1]
    if isinstance(first, AudioLoader):
        start, window, sr, mono = 1, int(first.n_samples_), first.sr, first.mono
    else:
        sr = getattr(first, "sr", None)
        window = getattr(first, "n_features_in_", None)
        if not isinstance(sr, Integral) or window is None:
            raise ValueError(
                "score_stream needs a Pipeline whose first step is an AudioLoader "
                "or takes waveforms and has an integer `sr` parameter (e.g. "
                f"LogMelSpectrogram); the first step is {type(first).__name__}"
            )
        start, window, mono = 0, int(window), True
    if len(steps) - start < 1:
        raise ValueError("score_stream needs a detector as the last pipeline step")
    front = [
        est for _, est in steps[start:-1] if est is not None and est != "passthrough"
    ]
    return front, steps[-1][1], window, int(sr), mono


# ---------------------------------------------------------------------- input


def _nonfinite_error(what, block, offset, sr):
    bad = int(np.flatnonzero(~np.isfinite(block))[0]) + offset
    raise ValueError(
        f"{what} contains a NaN or infinite sample at {bad / sr:.3f} s (sample "
        f"{bad} at {sr} Hz): waveforms must be finite"
    )


def _open_file(path, mono):
    """Open ``path`` with soundfile; every error names the file."""
    import soundfile as sf

    path = _check_audio_path(path)
    try:
        f = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot read audio file {path!r} (not a readable wav/flac file?): {exc}"
        ) from None
    if f.channels > 1 and not mono:
        f.close()
        raise ValueError(
            f"audio file {path!r} has {f.channels} channels, but the pipeline's "
            "AudioLoader has mono=False: set mono=True to average the channels"
        )
    return f


def _file_blocks(path, mono):
    """Yield mono float32 blocks of a file, as AudioLoader reads it.

    The file is opened when the first block is requested and closed when the
    generator finishes or is closed.
    """
    with _open_file(path, mono) as f:
        offset = 0
        while True:
            data = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                return
            if data.shape[1] > 1:  # the same float32 mean as AudioLoader
                block = data.mean(axis=1, dtype=np.float32)
            else:
                block = data[:, 0]
            if not np.isfinite(block).all():
                _nonfinite_error(f"audio file {path!r}", block, offset, f.samplerate)
            offset += block.shape[0]
            yield block


def _array_blocks(y, sr):
    for offset in range(0, y.shape[0], _BLOCK_FRAMES):
        # float32 block by block: no float32 copy of the whole recording
        block = y[offset : offset + _BLOCK_FRAMES].astype(np.float32, copy=False)
        if not np.isfinite(block).all():
            _nonfinite_error("the waveform", block, offset, sr)
        yield block


def _iterable_blocks(blocks, sr):
    offset = 0
    for i, block in enumerate(blocks):
        block = np.asarray(block)
        if not np.issubdtype(block.dtype, np.floating):
            raise ValueError(
                f"block {i} of the stream holds {block.dtype} values: every block "
                "must be a 1-D array of floating-point samples"
            )
        block = block.astype(np.float32, copy=False)
        if block.ndim != 1:
            raise ValueError(
                f"block {i} of the stream has shape {block.shape}: every block must "
                "be a 1-D array of mono samples"
            )
        if not np.isfinite(block).all():
            _nonfinite_error("the stream", block, offset, sr)
        offset += block.shape[0]
        yield block


def _resampled(blocks, orig_sr, target_sr):
    """Resample a stream of blocks exactly as ``librosa.resample`` does at once.

    ``librosa.resample`` (which AudioLoader uses) runs soxr at quality "HQ" and
    then pads or trims to ``ceil(n * target_sr / orig_sr)`` samples; soxr's
    streaming resampler gives the same samples block by block.
    """
    import soxr

    stream = soxr.ResampleStream(orig_sr, target_sr, 1, dtype="float32", quality="HQ")
    n_in = n_out = 0
    for block in blocks:
        n_in += block.shape[0]
        out = stream.resample_chunk(block, last=False)
        n_out += out.shape[0]
        yield out
    out = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
    expected = int(np.ceil(n_in * (float(target_sr) / orig_sr)))
    keep = max(expected - n_out, 0)
    out = out[:keep]
    if out.shape[0] < keep:
        out = np.concatenate([out, np.zeros(keep - out.shape[0], dtype=np.float32)])
    yield out


def _open_source(X, sr, mono):
    """Return ``(blocks, n_samples or None, source_sr)`` for a path/array/iterable."""
    if isinstance(X, (str, os.PathLike)):
        if sr is not None:
            raise ValueError(
                "sr is read from the audio file; leave sr=None when X is a path"
            )
        path = os.fspath(X)
        with _open_file(path, mono) as f:  # check it now, read it lazily
            n_frames, file_sr = f.frames, f.samplerate
        return _file_blocks(path, mono), n_frames, file_sr
    if sr is None:
        raise ValueError(
            "sr (the sample rate of the samples, in Hz) is required when X is an "
            "array or an iterable of blocks"
        )
    if isinstance(X, np.ndarray) or not isinstance(X, Iterable):
        y = np.asarray(X)
        if y.ndim != 1:
            raise ValueError(
                f"X must be a 1-D mono waveform, got an array of shape {y.shape}: "
                "average the channels first (as AudioLoader does with mono=True)"
            )
        if not np.issubdtype(y.dtype, np.floating):
            raise ValueError(
                "X must hold floating-point samples (as AudioLoader returns, "
                f"about -1 to 1), got dtype {y.dtype}; scale integer PCM first, "
                "e.g. y / 32768 for int16"
            )
        return _array_blocks(y, sr), y.shape[0], sr
    return _iterable_blocks(X, sr), None, sr


# -------------------------------------------------------------------- windows


def _chunks(blocks, *, window, hop, chunk_windows, pad_end, stats):
    """Yield ``(first_index, windows)`` with at most ``chunk_windows`` windows.

    Window ``k`` covers samples ``[k * hop, k * hop + window)``. One preallocated
    buffer of ``window + (chunk_windows - 1) * hop`` samples holds the samples
    from the start of the next window on; blocks are copied into it (callers may
    reuse their block arrays). When it is full, its ``chunk_windows`` windows are
    yielded (a view of the buffer when ``hop == window``, else a copy) and the
    samples of the following windows are moved to its front. The number of
    samples seen is stored in ``stats["n_samples"]`` at the end.
    """
    full = window + (chunk_windows - 1) * hop
    buf = np.empty(full, dtype=np.float32)
    n = 0  # samples in buf
    skip = 0  # samples still to drop before the next window start (hop > window)
    index = 0  # index of the next window
    total = 0  # samples seen

    def cut(k):
        if hop == window:
            return buf[: k * window].reshape(k, window)
        view = np.lib.stride_tricks.sliding_window_view(buf[:n], window)
        return np.ascontiguousarray(view[: (k - 1) * hop + 1 : hop])

    def advance(k):
        nonlocal n, skip
        step = k * hop
        if step < n:
            buf[: n - step] = buf[step:n]
            n -= step
        else:
            skip, n = step - n, 0

    for block in blocks:
        total += block.shape[0]
        pos = 0
        while pos < block.shape[0]:
            if skip:
                dropped = min(skip, block.shape[0] - pos)
                pos, skip = pos + dropped, skip - dropped
                continue
            take = min(full - n, block.shape[0] - pos)
            buf[n : n + take] = block[pos : pos + take]
            n, pos = n + take, pos + take
            if n == full:
                yield index, cut(chunk_windows)
                index += chunk_windows
                advance(chunk_windows)
    stats["n_samples"] = total
    if n >= window:
        k = 1 + (n - window) // hop
        yield index, cut(k)
        index += k
        advance(k)
    if pad_end:
        # zero-pad the end of the recording into whole windows, as AudioLoader
        # pads a short clip, until every sample belongs to a window
        covered = (index - 1) * hop + window if index else 0
        while index * hop < total and covered < total:
            padded = np.zeros((1, window), dtype=np.float32)
            padded[0, :n] = buf[:n]
            yield index, padded
            covered = index * hop + window
            index += 1
            advance(1)
    if index == 0:
        raise ValueError(
            f"the recording has {total} samples, fewer than one window of {window} "
            "samples (the clip length the pipeline was trained on): nothing to "
            "score" + ("" if pad_end else "; pass pad_end=True to zero-pad it")
        )


def _check_length(n_samples, window, sr, pad_end):
    """Raise when a recording of known length holds no window to score."""
    if n_samples is None or n_samples >= window:
        return
    if n_samples == 0:
        raise ValueError("the recording holds no samples (zero-length audio)")
    if not pad_end:
        raise ValueError(
            f"the recording is {n_samples / sr:.3f} s long ({n_samples} samples at "
            f"{sr} Hz), shorter than one window of {window / sr:.3f} s ({window} "
            "samples, the clip length the pipeline was trained on); pass "
            "pad_end=True to zero-pad it"
        )


_PARAMS = {
    "pipeline": [object],
    "X": [object],
    "sr": [Interval(Integral, 1, None, closed="left"), None],
    "hop_length": [Interval(Integral, 1, None, closed="left"), None],
    "chunk_windows": [Interval(Integral, 1, None, closed="left")],
    "section": [object, None],
    "pad_end": ["boolean"],
}


def _stream(pipeline, X, *, sr, hop_length, chunk_windows, section, pad_end):
    """Check everything up front; return a generator of per-chunk Bunches."""
    front, detector, window, target_sr, mono = _stream_setup(pipeline)
    hop = window if hop_length is None else int(hop_length)
    blocks, n_in, source_sr = _open_source(X, sr, mono)
    n_samples = n_in
    if n_in is not None and source_sr != target_sr:
        n_samples = int(np.ceil(n_in * (float(target_sr) / source_sr)))
    _check_length(n_samples, window, target_sr, pad_end)
    if source_sr != target_sr:
        blocks = _resampled(blocks, source_sr, target_sr)

    info = Bunch(
        sr=target_sr, window_length=window, hop_length=hop, n_samples=n_samples
    )

    def generate():
        for first, windows in _chunks(
            blocks,
            window=window,
            hop=hop,
            chunk_windows=chunk_windows,
            pad_end=pad_end,
            stats=info,
        ):
            Xw = windows
            for step in front:
                Xw = step.transform(Xw)
            sections = None if section is None else [section] * windows.shape[0]
            scores = _anomaly_scores(detector, Xw, sections=sections)
            starts = (first + np.arange(windows.shape[0])) * hop / target_sr
            yield Bunch(starts=starts, ends=starts + window / target_sr, scores=scores)

    return generate(), info


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def iter_stream_scores(
    pipeline,
    X,
    *,
    sr=None,
    hop_length=None,
    chunk_windows=64,
    section=None,
    pad_end=False,
):
    """Yield anomaly scores of a long recording, one chunk of windows at a time.

    The generator variant of :func:`score_stream` for live use: ``X`` may be an
    iterable of sample blocks (e.g. from a sound card), and the scores of each
    chunk of ``chunk_windows`` windows are yielded as soon as its samples have
    arrived. ``chunk_windows=1`` yields every window on its own. Parameters and
    errors are checked when this function is called; read errors (and non-finite
    samples) surface while iterating.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline, as for :func:`score_stream`.
    X : str, path-like, ndarray of shape (n_samples,) or iterable of ndarray
        A wav/flac file, a floating-point mono waveform, or an iterable of 1-D
        floating-point blocks of mono samples at ``sr`` Hz.
    sr : int, default=None
        Sample rate of ``X`` in Hz when it is an array or an iterable (required);
        must be None for a file.
    hop_length : int, default=None
        Samples between the starts of consecutive windows, at the pipeline's
        sample rate; ``None`` means one window (windows do not overlap).
    chunk_windows : int, default=64
        Windows scored per call of the pipeline steps.
    section : hashable, default=None
        Section of the recorded machine, given to the detector's
        ``anomaly_score`` for every window.
    pad_end : bool, default=False
        Zero-pad the samples after the last whole window into padded windows
        (as AudioLoader pads short clips) instead of dropping them.

    Yields
    ------
    chunk : :class:`~sklearn.utils.Bunch`
        ``starts``, ``ends`` (seconds) and ``scores`` (DCASE sign, higher = more
        anomalous) of at most ``chunk_windows`` consecutive windows.

    See Also
    --------
    score_stream : All the scores of a recording at once.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_asd.datasets import make_machine_sounds
    >>> from sklearn_asd.features import BandStatistics, LogMelSpectrogram
    >>> from sklearn_asd.streaming import iter_stream_scores
    >>> sounds = make_machine_sounds(n_normal=20, n_anomalous=0, n_sections=1,
    ...                              duration=0.5, random_state=0)
    >>> pipe = make_pipeline(
    ...     LogMelSpectrogram(n_mels=16, n_fft=256, hop_length=128),
    ...     BandStatistics(n_mels=16), IsolationForest(random_state=0),
    ... ).fit(sounds.data)
    >>> live = (block for block in sounds.data)  # 0.5-s blocks as they arrive
    >>> for chunk in iter_stream_scores(pipe, live, sr=16000, chunk_windows=8):
    ...     print(chunk.starts.round(1).tolist()[:3], chunk.scores.shape)
    [0.0, 0.5, 1.0] (8,)
    [4.0, 4.5, 5.0] (8,)
    [8.0, 8.5, 9.0] (4,)
    """
    chunks, _ = _stream(
        pipeline,
        X,
        sr=sr,
        hop_length=hop_length,
        chunk_windows=chunk_windows,
        section=section,
        pad_end=pad_end,
    )
    return chunks


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def score_stream(
    pipeline,
    X,
    *,
    sr=None,
    hop_length=None,
    chunk_windows=64,
    section=None,
    pad_end=False,
):
    """Anomaly scores of sliding windows over a long recording, in bounded memory.

    The recording is cut into windows of the clip length the pipeline was
    trained on (``AudioLoader.n_samples_``, or the ``n_features_in_`` of a
    first step that takes waveforms, such as :class:`LogMelSpectrogram`),
    starting every ``hop_length`` samples. A file is read block by block and
    never whole; ``chunk_windows`` windows at a time go through the pipeline
    steps after the loader, and the last step's anomaly scores (DCASE sign) are
    collected. The scores of a window are those the pipeline gives the same
    samples as a clip, whatever ``chunk_windows`` is.

    Input is converted as :class:`AudioLoader` converts files: float32 samples,
    channels of multi-channel files averaged (an error if the loader has
    ``mono=False``), other sample rates resampled to the pipeline's with soxr
    "HQ" as ``librosa.resample`` does (streamed, with the same samples as
    resampling the whole recording at once). Samples after the last whole
    window are dropped, unless ``pad_end=True``.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline. Its first step is an
        :class:`~sklearn_asd.features.AudioLoader` (file paths) or a waveform
        transformer with an ``sr`` parameter (e.g.
        :class:`~sklearn_asd.features.LogMelSpectrogram`); its last step is a
        detector with ``anomaly_score``, ``decision_function`` or
        ``score_samples``.
    X : str, path-like, ndarray of shape (n_samples,) or iterable of ndarray
        The recording: a wav/flac file, a floating-point mono waveform in
        memory, or an iterable of 1-D floating-point blocks of mono samples
        (e.g. from a sound card). Lists and other iterables are read as blocks.
    sr : int, default=None
        Sample rate of ``X`` in Hz when it is an array or an iterable (required
        then); must be None for a file, whose own rate is used.
    hop_length : int, default=None
        Samples between the starts of consecutive windows, at the pipeline's
        sample rate; ``None`` means one window (windows do not overlap).
    chunk_windows : int, default=64
        Windows scored per call of the pipeline steps. Memory is bounded by
        about ``window + (chunk_windows - 1) * hop_length`` float32 samples plus
        one read block and the features of one chunk.
    section : hashable, default=None
        Section of the recorded machine, given to the detector's
        ``anomaly_score`` for every window (``None``: its default).
    pad_end : bool, default=False
        If False, the samples after the last whole window are not scored, and a
        recording shorter than one window raises a ``ValueError``. If True, they
        are zero-padded into further windows (as AudioLoader pads short clips),
        so that every sample belongs to a window.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With ``starts`` and ``ends`` (ndarray of shape (n_windows,), seconds),
        ``scores`` (ndarray of shape (n_windows,), float64, higher = more
        anomalous), ``sr``, ``window_length`` and ``hop_length`` (samples at
        ``sr``) and ``n_samples`` (length of the recording at ``sr``).

    See Also
    --------
    iter_stream_scores : The same scores, yielded chunk by chunk.
    sklearn_asd.scoring.score_files : Scores of many clips, one per file.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_asd.datasets import make_machine_sounds
    >>> from sklearn_asd.features import BandStatistics, LogMelSpectrogram
    >>> from sklearn_asd.streaming import score_stream
    >>> sounds = make_machine_sounds(n_normal=20, n_anomalous=0, n_sections=1,
    ...                              duration=0.5, random_state=0)
    >>> pipe = make_pipeline(
    ...     LogMelSpectrogram(n_mels=16, n_fft=256, hop_length=128),
    ...     BandStatistics(n_mels=16), IsolationForest(random_state=0),
    ... ).fit(sounds.data)
    >>> recording = sounds.data.reshape(-1)  # 10 s at 16 kHz
    >>> result = score_stream(pipe, recording, sr=16000, hop_length=4000)
    >>> result.scores.shape, result.window_length, result.n_samples
    ((39,), 8000, 160000)
    >>> result.starts[:3].tolist(), result.ends[:3].tolist()
    ([0.0, 0.25, 0.5], [0.5, 0.75, 1.0])
    >>> np.allclose(result.scores[::2], -pipe.decision_function(sounds.data))
    True
    """
    chunks, info = _stream(
        pipeline,
        X,
        sr=sr,
        hop_length=hop_length,
        chunk_windows=chunk_windows,
        section=section,
        pad_end=pad_end,
    )
    parts = list(chunks)
    for key in ("starts", "ends", "scores"):
        info[key] = np.concatenate([p[key] for p in parts])
    return info
