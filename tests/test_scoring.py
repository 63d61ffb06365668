import numpy as np
import pytest
import soundfile as sf
import torch
from _configs import tiny_contrastive, tiny_mel
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import make_pipeline

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import AudioLoader, BandStatistics, LogMelSpectrogram
from sklearn_asd.scoring import score_files

MEL = tiny_mel(8)


@pytest.fixture
def wav_files(tmp_path):
    sounds = make_machine_sounds(
        n_normal=8, n_anomalous=3, n_sections=2, duration=0.5, random_state=0
    )
    paths = []
    for i, y in enumerate(sounds.data):
        paths.append(str(tmp_path / f"clip_{i:02d}.wav"))
        sf.write(paths[-1], y, sounds.sr, subtype="FLOAT")
    return np.array(paths), sounds


def test_chunked_scores_equal_whole_pipeline_iforest(wav_files):
    """Check chunked scoring equals scoring everything at once (IsolationForest)."""
    paths, _ = wav_files
    pipe = make_pipeline(
        AudioLoader(),
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=8),
        IsolationForest(random_state=0),
    ).fit(paths)
    expected = -pipe.decision_function(paths)
    for chunk_size in (1, 3, 100):
        np.testing.assert_array_equal(
            score_files(pipe, paths, chunk_size=chunk_size), expected
        )
    # parallel chunks come back in file order
    np.testing.assert_array_equal(
        score_files(pipe, paths, chunk_size=2, n_jobs=2), expected
    )


def test_chunked_scores_use_sections_of_each_chunk(wav_files):
    """Check the detector gets each chunk's own sections (contrastive detector)."""
    paths, sounds = wav_files
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pipe = make_pipeline(
            AudioLoader(),
            LogMelSpectrogram(**MEL),
            ContrastiveASDEstimator(**tiny_contrastive(8, last_channel=16)),
        )
        X = pipe[:-1].fit_transform(paths)
        pipe[-1].fit(X, sections=sounds.sections)
        expected = pipe[-1].anomaly_score(X, sections=sounds.sections)
        got = score_files(pipe, paths, sections=sounds.sections, chunk_size=4)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        swapped = np.where(sounds.sections == "00", "01", "00")
        assert not np.allclose(
            score_files(pipe, paths, sections=swapped, chunk_size=4), expected
        )
        # two worker processes, chunks in order, each with its own sections
        parallel = score_files(
            pipe, paths, sections=sounds.sections, chunk_size=3, n_jobs=2
        )
        np.testing.assert_allclose(parallel, expected, rtol=1e-5, atol=1e-6)
    finally:
        torch.set_num_threads(previous)


def test_score_files_errors(wav_files):
    """Check unfitted pipelines, bad sections and empty inputs get clear errors."""
    paths, _ = wav_files
    pipe = make_pipeline(
        AudioLoader(),
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=8),
        IsolationForest(random_state=0),
    )
    with pytest.raises(Exception, match="not fitted"):
        score_files(pipe, paths)
    pipe.fit(paths)
    with pytest.raises(ValueError, match="no file paths"):
        score_files(pipe, [])
    with pytest.raises(ValueError, match="3 entries for 11 files"):
        score_files(pipe, paths, sections=["a", "b", "c"])
    with pytest.raises(ValueError, match="no anomaly_score"):
        score_files(pipe, paths, sections=["a"] * 11)
    with pytest.raises(TypeError, match="needs a fitted Pipeline"):
        score_files(IsolationForest(), paths)
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        score_files(pipe, [paths[0], "missing.wav"])
