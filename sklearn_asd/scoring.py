# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Score folders of any size with a fitted pipeline, in bounded memory.

A scikit-learn ``Pipeline`` holds all of ``X`` at once: 10,000 clips of 10 s are
6.4 GB of float32 waveforms. :func:`score_files` feeds the pipeline
``chunk_size`` files at a time, so memory stays bounded by one chunk (by
``n_jobs`` chunks in flight when chunks are scored in parallel processes).
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.utils._response import _anomaly_scores

__all__ = ["score_files"]


def _score_chunk(front, detector, paths, sections):
    """Scores of one chunk of files (runs in a joblib worker with ``n_jobs``)."""
    return _anomaly_scores(detector, front.transform(list(paths)), sections=sections)


@validate_params(
    {
        "pipeline": [object],
        "paths": ["array-like"],
        "sections": ["array-like", None],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def score_files(pipeline, paths, *, sections=None, chunk_size=256, n_jobs=None):
    """Anomaly scores of audio files, computed ``chunk_size`` files at a time.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline whose first step reads file paths (e.g.
        :class:`~sklearn_asd.features.AudioLoader`) and whose last step is a
        detector. Its ``anomaly_score`` is used when it has one, otherwise the
        negated ``decision_function`` (or ``score_samples``); a classifier's
        (trained with 1 = anomalous) and a PyOD detector's
        ``decision_function`` are used as they are. Until
        0.1.0.dev0 a classifier's ``decision_function`` was negated here; the
        rule is now the scorers' (:class:`~sklearn_asd.metrics.ASDScorer`).
    paths : array-like of shape (n_files,)
        Paths of the audio files.
    sections : array-like of shape (n_files,), default=None
        Section of each file, passed to the detector's ``anomaly_score``.
    chunk_size : int, default=256
        Files read and scored at once; memory is bounded by one chunk.
    n_jobs : int, default=None
        Worker processes scoring chunks in parallel (joblib, loky backend;
        ``None`` or 1: in this process, ``-1``: one per core). Each worker
        receives a copy of the pipeline and holds one chunk at a time; joblib
        gives each worker ``cores // n_jobs`` threads for torch and BLAS, so
        that workers x threads stays within the cores. Scores equal the serial
        ones up to float rounding that depends on the thread count.

    Returns
    -------
    scores : ndarray of shape (n_files,), float64
        Anomaly scores with the DCASE sign: higher = more anomalous.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, soundfile as sf
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_asd.features import AudioLoader, BandStatistics, LogMelSpectrogram
    >>> from sklearn_asd.scoring import score_files
    >>> rng = np.random.default_rng(0)
    >>> tmp = tempfile.mkdtemp()
    >>> paths = []
    >>> for i in range(6):
    ...     paths.append(os.path.join(tmp, f"{i}.wav"))
    ...     sf.write(paths[-1], 0.1 * rng.standard_normal(8000), 16000)
    >>> pipe = make_pipeline(AudioLoader(), LogMelSpectrogram(n_mels=16),
    ...                      BandStatistics(n_mels=16),
    ...                      IsolationForest(random_state=0)).fit(paths)
    >>> scores = score_files(pipe, paths, chunk_size=4)
    >>> np.allclose(scores, -pipe.decision_function(paths))
    True
    """
    steps = getattr(pipeline, "steps", None)
    if not steps:
        raise TypeError(
            "score_files needs a fitted Pipeline whose first step reads file "
            f"paths; got {type(pipeline).__name__}"
        )
    check_is_fitted(pipeline)
    paths = np.asarray(paths, dtype=object).reshape(-1)
    if paths.size == 0:
        raise ValueError("score_files got no file paths")
    if sections is not None:
        sections = np.asarray(sections, dtype=object).reshape(-1)
        if sections.shape[0] != paths.shape[0]:
            raise ValueError(
                f"sections has {sections.shape[0]} entries for {paths.shape[0]} files"
            )
    front, detector = pipeline[:-1], pipeline[-1]
    chunks = [
        slice(start, start + chunk_size)
        for start in range(0, paths.shape[0], chunk_size)
    ]
    tasks = (
        (paths[chunk], None if sections is None else sections[chunk])
        for chunk in chunks
    )
    scores = np.empty(paths.shape[0], dtype=np.float64)
    if n_jobs is None or n_jobs == 1 or len(chunks) == 1:
        for chunk, (part, part_sections) in zip(chunks, tasks):
            scores[chunk] = _score_chunk(front, detector, part, part_sections)
        return scores
    from joblib import Parallel, delayed

    # results come back in order, as they finish; at most 2 * n_jobs chunks
    # are dispatched ahead (joblib's pre_dispatch)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_score_chunk)(front, detector, part, part_sections)
        for part, part_sections in tasks
    )
    for chunk, values in zip(chunks, results):
        scores[chunk] = values
    return scores
