import itertools
import tracemalloc

import numpy as np
import pytest
import sklearn
import soundfile as sf
import torch
from _configs import tiny_contrastive, tiny_mel
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd import streaming as streaming_module
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import (
    AudioLoader,
    BandStatistics,
    LogMelSpectrogram,
    MedianFilter,
)
from sklearn_asd.streaming import iter_stream_scores, score_stream

SR = 16000
MEL = tiny_mel(16)
WINDOW = SR // 2  # the pipelines below are trained on 0.5-s clips


@pytest.fixture(scope="module")
def train():
    return make_machine_sounds(
        n_normal=24, n_anomalous=0, n_sections=1, duration=0.5, random_state=0
    )


@pytest.fixture(scope="module")
def wave_pipe(train):
    """A fitted pipeline that takes 0.5-s waveforms (no loader)."""
    return make_pipeline(
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=16),
        IsolationForest(random_state=0),
    ).fit(train.data)


@pytest.fixture(scope="module")
def recording():
    """An 8.3-s recording: 16 different normal clips and a partial one."""
    sounds = make_machine_sounds(
        n_normal=17, n_anomalous=0, n_sections=1, duration=0.5, random_state=1
    )
    return sounds.data.reshape(-1)[: 16 * WINDOW + 4321]


def _loader_pipe(train, tmp_path, **loader):
    paths = []
    for i, y in enumerate(train.data):
        paths.append(str(tmp_path / f"train_{i}.wav"))
        sf.write(paths[-1], y, SR, subtype="FLOAT")
    return make_pipeline(
        AudioLoader(**loader),
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=16),
        IsolationForest(random_state=0),
    ).fit(paths)


def _cut(y, window, hop):
    """Windows cut out by hand: [k * hop, k * hop + window)."""
    starts = np.arange(0, y.shape[0] - window + 1, hop)
    return np.stack([y[s : s + window] for s in starts]), starts


# ----------------------------------------------------------------- equality
@pytest.mark.parametrize("hop", [WINDOW, 3000, 11000])
def test_window_scores_equal_pipeline_scores(wave_pipe, recording, hop):
    """Check each window's score is the pipeline's score of that cut-out window."""
    result = score_stream(wave_pipe, recording, sr=SR, hop_length=hop)
    windows, starts = _cut(recording, WINDOW, hop)
    expected = -wave_pipe.decision_function(windows)
    np.testing.assert_allclose(result.scores, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.starts, starts / SR)
    np.testing.assert_allclose(result.ends, (starts + WINDOW) / SR)
    assert result.sr == SR
    assert result.window_length == WINDOW
    assert result.hop_length == hop
    assert result.n_samples == recording.shape[0]


def test_file_scores_equal_pipeline_scores(train, tmp_path, recording):
    """Check a file read block-wise scores as the windows cut from the whole file."""
    pipe = _loader_pipe(train, tmp_path)
    assert pipe[0].n_samples_ == WINDOW
    path = tmp_path / "long.wav"
    sf.write(path, recording, SR, subtype="PCM_16")
    whole, _ = sf.read(path, dtype="float32")
    windows, _ = _cut(whole, WINDOW, 2000)
    expected = -pipe[-1].decision_function(pipe[1:-1].transform(windows))
    result = score_stream(pipe, path, hop_length=2000)
    np.testing.assert_allclose(result.scores, expected, rtol=0, atol=1e-6)
    # str paths too
    np.testing.assert_array_equal(
        score_stream(pipe, str(path), hop_length=2000).scores, result.scores
    )


def test_stereo_resampled_file_matches_audio_loader(train, tmp_path, recording):
    """Check stereo files at another rate are converted exactly as AudioLoader does."""
    pipe = _loader_pipe(train, tmp_path, duration=0.5)
    rng = np.random.default_rng(0)
    n = int(recording.shape[0] * 22050 / SR)
    stereo = 0.1 * rng.standard_normal((n, 2))
    path = tmp_path / "stereo_22k.wav"
    sf.write(path, stereo, 22050, subtype="FLOAT")
    # AudioLoader reads the whole file, averages the channels, resamples
    whole = AudioLoader(sr=SR).fit_transform([str(path)])[0]
    windows, _ = _cut(whole, WINDOW, 3000)
    expected = -pipe[-1].decision_function(pipe[1:-1].transform(windows))
    result = score_stream(pipe, path, hop_length=3000)
    assert result.n_samples == whole.shape[0]
    np.testing.assert_allclose(result.scores, expected, rtol=0, atol=1e-6)


def test_sections_reach_the_detector(train, recording):
    """Check a contrastive detector scores windows with the given section."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sounds = make_machine_sounds(
            n_normal=16, n_anomalous=0, n_sections=2, duration=0.5, random_state=0
        )
        pipe = Pipeline(
            [
                ("mel", LogMelSpectrogram(**MEL)),
                ("mf", MedianFilter(kernel_size=(1, 3), n_mels=16)),
                (
                    "det",
                    ContrastiveASDEstimator(**tiny_contrastive(16)),
                ),
            ]
        )
        with sklearn.config_context(enable_metadata_routing=True):
            pipe.fit(sounds.data, sections=sounds.sections)
        windows, _ = _cut(recording, WINDOW, WINDOW)
        features = pipe[:-1].transform(windows)
        for section in ("00", "01"):
            expected = pipe[-1].anomaly_score(
                features, sections=[section] * len(windows)
            )
            got = score_stream(
                pipe, recording, sr=SR, section=section, chunk_windows=5
            ).scores
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        assert not np.allclose(
            score_stream(pipe, recording, sr=SR, section="00").scores,
            score_stream(pipe, recording, sr=SR, section="01").scores,
        )
        # no section: the detector's default (best-matching section)
        np.testing.assert_allclose(
            score_stream(pipe, recording, sr=SR).scores,
            pipe[-1].anomaly_score(features),
            rtol=0,
            atol=1e-6,
        )
    finally:
        torch.set_num_threads(previous)


# ---------------------------------------------------------- block boundaries
def test_chunk_and_block_sizes_do_not_change_scores(
    wave_pipe, recording, tmp_path, monkeypatch
):
    """Check chunk sizes, read-block sizes and live block sizes give equal scores."""
    path = tmp_path / "rec.wav"
    sf.write(path, recording, SR, subtype="FLOAT")
    hop = 3000
    reference = score_stream(wave_pipe, recording, sr=SR, hop_length=hop)
    assert reference.scores.shape == (1 + (recording.shape[0] - WINDOW) // hop,)
    for block_frames in (777, 65536):
        monkeypatch.setattr(streaming_module, "_BLOCK_FRAMES", block_frames)
        for chunk_windows in (1, 7, 64):
            for source, sr in ((recording, SR), (path, None)):
                got = score_stream(
                    wave_pipe,
                    source,
                    sr=sr,
                    hop_length=hop,
                    chunk_windows=chunk_windows,
                )
                np.testing.assert_array_equal(got.scores, reference.scores)
                np.testing.assert_array_equal(got.starts, reference.starts)
    # blocks of random sizes, as from a sound card, and reused block buffers
    rng = np.random.default_rng(0)
    bounds = np.unique(np.r_[0, rng.integers(0, recording.shape[0], 40)])
    bounds = np.r_[bounds, recording.shape[0]]
    blocks = [recording[a:b] for a, b in itertools.pairwise(bounds)]

    def reused():
        buffer = np.empty(recording.shape[0], dtype=np.float32)
        for block in blocks:
            buffer[: block.shape[0]] = block
            yield buffer[: block.shape[0]]
            buffer[:] = np.nan  # the caller overwrites its buffer

    for source in (blocks, reused()):
        got = score_stream(wave_pipe, source, sr=SR, hop_length=hop, chunk_windows=4)
        np.testing.assert_array_equal(got.scores, reference.scores)
        assert got.n_samples == recording.shape[0]


def test_iter_stream_scores_yields_chunks(wave_pipe, recording):
    """Check the generator yields chunk_windows windows at a time, in order."""
    chunks = list(
        iter_stream_scores(
            wave_pipe, recording, sr=SR, hop_length=4000, chunk_windows=5
        )
    )
    whole = score_stream(wave_pipe, recording, sr=SR, hop_length=4000)
    sizes = [c.scores.shape[0] for c in chunks]
    assert sizes[:-1] == [5] * (len(sizes) - 1) and 1 <= sizes[-1] <= 5
    assert sum(sizes) == whole.scores.shape[0]
    np.testing.assert_array_equal(
        np.concatenate([c.scores for c in chunks]), whole.scores
    )
    np.testing.assert_array_equal(
        np.concatenate([c.starts for c in chunks]), whole.starts
    )


# ---------------------------------------------------------------- the tail
def test_last_partial_window_dropped_or_padded(wave_pipe, recording):
    """Check the tail is dropped by default and zero-padded with pad_end=True."""
    hop = WINDOW
    dropped = score_stream(wave_pipe, recording, sr=SR, hop_length=hop)
    assert dropped.scores.shape == (16,)  # the last 4321 samples are not scored
    padded = score_stream(wave_pipe, recording, sr=SR, hop_length=hop, pad_end=True)
    assert padded.scores.shape == (17,)
    np.testing.assert_array_equal(padded.scores[:16], dropped.scores)
    tail = np.zeros((1, WINDOW), dtype=np.float32)
    tail[0, :4321] = recording[16 * WINDOW :]
    np.testing.assert_allclose(
        padded.scores[16], -wave_pipe.decision_function(tail)[0], rtol=0, atol=1e-6
    )
    assert padded.ends[-1] > recording.shape[0] / SR
    # overlapping windows: padded windows until the last sample is covered
    overlap = score_stream(wave_pipe, recording, sr=SR, hop_length=3000, pad_end=True)
    assert overlap.ends[-2] < recording.shape[0] / SR <= overlap.ends[-1]


def test_short_recording(wave_pipe, train, tmp_path):
    """Check a recording shorter than a window errors, or is padded as AudioLoader."""
    short = train.data[0][:5000]
    with pytest.raises(ValueError, match=r"shorter than one window of 0.500 s"):
        score_stream(wave_pipe, short, sr=SR)
    path = tmp_path / "short.wav"
    sf.write(path, short, SR, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"0.312 s long \(5000 samples"):
        score_stream(wave_pipe, path)
    with pytest.raises(ValueError, match="fewer than one window of 8000 samples"):
        score_stream(wave_pipe, iter([short]), sr=SR)
    # pad_end=True: the padded clip AudioLoader(duration=0.5) would give
    padded = AudioLoader(sr=SR, duration=0.5).fit_transform([str(path)])
    np.testing.assert_allclose(
        score_stream(wave_pipe, path, pad_end=True).scores,
        -wave_pipe.decision_function(padded),
        rtol=0,
        atol=1e-6,
    )


# ------------------------------------------------------------------ memory
def _write_long(path, seconds, clip):
    """Write ``seconds`` of audio block by block (never held in memory)."""
    with sf.SoundFile(path, "w", SR, 1, subtype="FLOAT") as f:
        for _ in range(int(seconds / (clip.shape[0] / SR))):
            f.write(clip)


def test_long_file_scored_in_bounded_memory(wave_pipe, recording, tmp_path):
    """Check a 10-minute file scores with peak allocation far below its size."""
    clip = recording[: 8 * WINDOW]  # 4 s
    peaks = {}
    for minutes in (1, 10):
        path = tmp_path / f"{minutes}min.wav"
        _write_long(path, 60 * minutes, clip)
        tracemalloc.start()
        try:
            result = score_stream(wave_pipe, path, chunk_windows=32)
            peaks[minutes] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.scores.shape == (120 * minutes,)
        assert np.isfinite(result.scores).all()
    file_bytes = (tmp_path / "10min.wav").stat().st_size
    assert file_bytes > 38_000_000  # 600 s x 16 kHz x 4 bytes
    # measured: 1.8 MB (1 min) and 2.0 MB (10 min): 32 windows, a read block, features
    assert peaks[10] < file_bytes / 10
    # memory does not grow with the length of the recording
    assert peaks[10] < peaks[1] + 1_000_000
    # the whole-file approach holds the file: the bound above is meaningful
    tracemalloc.start()
    try:
        sf.read(tmp_path / "10min.wav", dtype="float32")
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole_peak > file_bytes * 0.9


# --------------------------------------------------------------- detection
@pytest.mark.parametrize("hop", [SR, SR // 2])
def test_anomalous_segment_gets_the_highest_scores(hop):
    """Check windows over an anomalous segment mid-recording score highest."""
    train = make_machine_sounds(
        n_normal=60, n_anomalous=0, n_sections=1, duration=1.0, random_state=0
    )
    # per-band peak level: a detector of the clicks' short broadband impacts
    pipe = make_pipeline(
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=16, statistics=("max",)),
        IsolationForest(random_state=0),
    ).fit(train.data)
    normal = make_machine_sounds(
        n_normal=40, n_anomalous=0, n_sections=1, duration=1.0, random_state=1
    ).data
    clicks = make_machine_sounds(
        n_normal=0,
        n_anomalous=3,
        n_sections=1,
        duration=1.0,
        severity=1.0,
        anomaly_kinds=["click"],
        random_state=2,
    ).data
    # 43 s: normal clips, 3 s of clicks from 20 s to 23 s, normal clips
    y = np.concatenate([*normal[:20], *clicks, *normal[20:]])
    result = score_stream(pipe, y, sr=SR, hop_length=hop)
    overlaps = (result.ends > 20.0) & (result.starts < 23.0)
    n_top = int(overlaps.sum())
    assert n_top == (3 if hop == SR else 7)
    top = np.argsort(result.scores)[::-1][:n_top]
    assert overlaps[top].all()
    assert result.scores[overlaps].min() > result.scores[~overlaps].max()


# ------------------------------------------------------------------ errors
def test_non_finite_samples_name_the_time(wave_pipe, recording, tmp_path):
    """Check NaN/inf samples raise an error naming their time."""
    y = recording.copy()
    y[3 * SR + 8000] = np.nan  # 3.5 s
    with pytest.raises(ValueError, match=r"NaN or infinite sample at 3.500 s"):
        score_stream(wave_pipe, y, sr=SR)
    y = recording.copy()
    y[SR // 4] = np.inf
    path = tmp_path / "inf.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"inf\.wav.* at 0.250 s \(sample 4000"):
        score_stream(wave_pipe, path)
    # in the file's own time when it is resampled
    y = np.zeros(3 * 8000, dtype=np.float32)
    y[12000] = np.nan
    path = tmp_path / "nan_8k.wav"
    sf.write(path, y, 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"at 1.500 s \(sample 12000 at 8000 Hz\)"):
        score_stream(wave_pipe, path)
    with pytest.raises(ValueError, match=r"the stream contains .* at 1.000 s"):
        score_stream(wave_pipe, [recording[:SR], y[12000:12001]], sr=SR)


def test_input_errors(wave_pipe, train, recording, tmp_path):
    """Check bad inputs and pipelines get clear errors."""
    with pytest.raises(ValueError, match=r"sr .* is required"):
        score_stream(wave_pipe, recording)
    path = tmp_path / "rec.wav"
    sf.write(path, recording, SR)
    with pytest.raises(ValueError, match="leave sr=None when X is a path"):
        score_stream(wave_pipe, path, sr=SR)
    with pytest.raises(ValueError, match=r"1-D mono waveform, got .* \(2, "):
        score_stream(wave_pipe, np.stack([recording, recording]), sr=SR)
    with pytest.raises(ValueError, match="floating-point samples"):
        score_stream(wave_pipe, np.array(["a", "b"]), sr=SR)
    with pytest.raises(ValueError, match="int16"):
        score_stream(wave_pipe, (recording * 32767).astype(np.int16), sr=SR)
    with pytest.raises(ValueError, match="block 0 of the stream holds int64"):
        score_stream(wave_pipe, [np.arange(10)], sr=SR)
    # float64 waveforms score as their float32 conversion
    np.testing.assert_array_equal(
        score_stream(wave_pipe, recording.astype(np.float64), sr=SR).scores,
        score_stream(wave_pipe, recording, sr=SR).scores,
    )
    with pytest.raises(ValueError, match="block 1 of the stream has shape"):
        score_stream(wave_pipe, [recording, recording[None]], sr=SR)
    with pytest.raises(ValueError, match="no samples"):
        score_stream(wave_pipe, np.zeros(0), sr=SR, pad_end=True)
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        score_stream(wave_pipe, tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match=r"cannot read audio file .*bad\.wav"):
        score_stream(wave_pipe, bad)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated"):
        score_stream(wave_pipe, cut)
    with pytest.raises(InvalidParameterError, match="hop_length"):
        score_stream(wave_pipe, recording, sr=SR, hop_length=0)
    with pytest.raises(InvalidParameterError, match="chunk_windows"):
        iter_stream_scores(wave_pipe, recording, sr=SR, chunk_windows=0)
    with pytest.raises(ValueError, match="no anomaly_score"):
        score_stream(wave_pipe, recording, sr=SR, section="00")


def test_pipeline_errors(wave_pipe, train, recording, tmp_path):
    """Check unfitted or unusable pipelines are rejected before reading."""
    with pytest.raises(ValueError, match="needs a fitted Pipeline"):
        score_stream(IsolationForest(), recording, sr=SR)
    unfitted = make_pipeline(LogMelSpectrogram(**MEL), IsolationForest())
    with pytest.raises(Exception, match="not fitted"):
        score_stream(unfitted, recording, sr=SR)
    no_rate = make_pipeline(IsolationForest()).fit(train.data)
    with pytest.raises(ValueError, match="integer `sr` parameter"):
        score_stream(no_rate, recording, sr=SR)
    # a loader that refuses multi-channel files refuses them here too
    pipe = _loader_pipe(train, tmp_path, mono=False)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([recording, recording], axis=1), SR)
    with pytest.raises(ValueError, match=r"2 channels.*mono=False"):
        score_stream(pipe, path)
