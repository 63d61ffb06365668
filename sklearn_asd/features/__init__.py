# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Row-preserving feature transformers for machine sounds.

Data flow of an ASD pipeline::

    file paths -> AudioLoader -> LogMelSpectrogram -> MedianFilter -> detector

Every step takes and returns a 2-D array with one row per clip: waveforms
``(n_clips, n_samples)``, then flattened log-mel spectrograms
``(n_clips, n_mels * n_frames)`` (reshape with ``X.reshape(n, n_mels, n_frames)``).
"""

from sklearn_asd.features._loader import AudioLoader
from sklearn_asd.features._median import MedianFilter
from sklearn_asd.features._mel import LogMelSpectrogram
from sklearn_asd.features._statistics import BandStatistics

__all__ = ["AudioLoader", "BandStatistics", "LogMelSpectrogram", "MedianFilter"]
