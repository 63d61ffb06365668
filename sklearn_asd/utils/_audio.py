# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reading one audio file, with errors that name it (private)."""

import os
import struct

import numpy as np

__all__ = []

#: File suffixes read as audio (soundfile: wav and flac).
_AUDIO_SUFFIXES = (".wav", ".flac")


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


def _check_audio_path(path):
    """Return ``path`` as a str if it names a whole audio file; errors name it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"audio file not found: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"expected an audio file, got a directory: {path!r}")
    truncated = _wav_truncation(path)
    if truncated is not None:
        raise ValueError(f"cannot read audio file {path!r}: {truncated}")
    return path


def _read_audio(path, *, sr, mono):
    """Read one file as float32 mono at ``sr``; every error names the file."""
    import soundfile as sf

    path = _check_audio_path(path)
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
