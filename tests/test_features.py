import pickle
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from sklearn_asd.features import (
    AudioLoader,
    BandStatistics,
    LogMelSpectrogram,
    MedianFilter,
)


def _librosa_log_mel(y, **kw):
    """The DCASE baseline formula, computed clip by clip with librosa."""
    power = kw.get("power", 2.0)
    S = librosa.feature.melspectrogram(y=y, **kw)
    return 20.0 / power * np.log10(np.maximum(S, sys.float_info.epsilon))


def _tone_and_noise(rng, n_clips=3, n=16000):
    t = np.arange(n) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = (
        rng.standard_normal((n_clips, n)) * np.array([1e-1, 1e-3, 1e-5])[:n_clips, None]
    )
    return (tone + noise).astype(np.float32)


# ---------------------------------------------------------------- LogMelSpectrogram


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"n_mels": 64, "power": 1.0, "fmin": 50.0, "fmax": 7000.0},
        {"center": False},
        {"pad_mode": "constant", "n_fft": 512, "hop_length": 256},
        # odd n_fft: centre padding is n_fft - 1, not n_fft (16000 % 100 == 0)
        {"n_mels": 16, "n_fft": 255, "hop_length": 100},
        {"n_mels": 16, "n_fft": 255, "hop_length": 100, "center": False},
    ],
)
def test_log_mel_matches_librosa_formula(rng, params):
    """Check that every clip equals the per-clip librosa DCASE formula (1e-4 dB)."""
    X = _tone_and_noise(rng)
    mel = LogMelSpectrogram(**params).fit(X)
    out = mel.transform(X)
    assert out.dtype == np.float32
    assert out.shape == (3, mel.n_mels_ * mel.n_frames_)
    kw = {
        "sr": 16000,
        "n_fft": 1024,
        "hop_length": 512,
        "n_mels": 128,
        "power": 2.0,
        "center": True,
        "pad_mode": "reflect",
    }
    kw.update(params)
    for i, y in enumerate(X):
        ref = _librosa_log_mel(y, **kw)
        got = out[i].reshape(mel.n_mels_, mel.n_frames_)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


def test_log_mel_matches_librosa_on_real_clips(shared_datasets):
    """Check the 1e-4 dB agreement on real DCASE/MIMII clips of three sets."""
    files = [
        shared_datasets / "dcase2020t2-dev-lite/fan/test/anomaly_id_06_00000002.wav",
        shared_datasets / "dcase2021t2-dev-single/pump/source_test/"
        "section_00_source_test_anomaly_0000.wav",
        shared_datasets / "mimii-becode-demo-ch0/fan/normal/00000000.wav",
    ]
    for path in files:
        y, sr = sf.read(path, dtype="float32")
        mel = LogMelSpectrogram().fit(y[None, :])
        got = mel.transform(y[None, :])[0].reshape(128, -1)
        ref = _librosa_log_mel(
            y,
            sr=sr,
            n_fft=1024,
            hop_length=512,
            n_mels=128,
            power=2.0,
            center=True,
            pad_mode="reflect",
        )
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


def test_log_mel_ten_second_clip_has_313_frames(rng):
    """Check the DCASE frame count of a 10-s 16-kHz clip (1 + 160000 // 512)."""
    X = rng.standard_normal((1, 160000)).astype(np.float32)
    mel = LogMelSpectrogram().fit(X)
    assert (mel.n_mels_, mel.n_frames_) == (128, 313)
    assert mel.get_feature_names_out().shape == (128 * 313,)


def test_log_mel_parallel_equals_serial(rng):
    """Check that n_jobs=2 gives exactly the serial result over several batches."""
    X = rng.standard_normal((40, 4000)).astype(np.float32)
    serial = LogMelSpectrogram(n_mels=32).fit_transform(X)
    parallel = LogMelSpectrogram(n_mels=32, n_jobs=2).fit_transform(X)
    np.testing.assert_array_equal(serial, parallel)


def test_log_mel_keeps_float64(rng):
    """Check that float64 waveforms give float64 features of the same values."""
    X = rng.standard_normal((2, 4000))
    out64 = LogMelSpectrogram(n_mels=16).fit_transform(X)
    out32 = LogMelSpectrogram(n_mels=16).fit_transform(X.astype(np.float32))
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out64, out32, atol=1e-3)


def test_log_mel_silence_is_finite():
    """Check that an all-zero clip gives the epsilon floor, not -inf."""
    out = LogMelSpectrogram(n_mels=8).fit_transform(np.zeros((1, 4000), np.float32))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 10 * np.log10(sys.float_info.epsilon), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_log_mel_rejects_non_finite_rows(rng, bad):
    """Check that NaN/inf waveforms raise an error naming the row."""
    X = rng.standard_normal((4, 4000)).astype(np.float32)
    X[2, 100] = bad
    with pytest.raises(ValueError, match=r"NaN or infinity in row\(s\) 2"):
        LogMelSpectrogram().fit(X)
    mel = LogMelSpectrogram().fit(X[:2])
    with pytest.raises(ValueError, match=r"row\(s\) 2"):
        mel.transform(X)


def test_log_mel_rejects_bad_shapes(rng):
    """Check 1-D, 3-D, empty and too-short inputs get clear errors."""
    with pytest.raises(ValueError, match="Expected 2D array"):
        LogMelSpectrogram().fit(rng.standard_normal(4000))
    with pytest.raises(ValueError, match="dim 3"):
        LogMelSpectrogram().fit(rng.standard_normal((2, 2, 4000)))
    with pytest.raises(ValueError, match="0 sample"):
        LogMelSpectrogram().fit(np.empty((0, 4000)))
    with pytest.raises(ValueError, match="fewer than n_fft"):
        LogMelSpectrogram(center=False).fit(rng.standard_normal((2, 100)))
    with pytest.raises(ValueError, match="reflect padding"):
        LogMelSpectrogram().fit(rng.standard_normal((2, 100)))
    with pytest.raises(ValueError, match="Nyquist"):
        LogMelSpectrogram(fmax=9000).fit(rng.standard_normal((2, 4000)))
    mel = LogMelSpectrogram().fit(rng.standard_normal((2, 4000)))
    with pytest.raises(ValueError, match="4000 features"):
        mel.transform(rng.standard_normal((2, 5000)))


# ------------------------------------------------------------------- MedianFilter


def test_median_filter_removes_one_frame_spike():
    """Check that a one-frame spike disappears and nothing else changes."""
    S = np.tile(np.linspace(-60, -20, 8, dtype=np.float32)[:, None], (1, 20))
    spiked = S.copy()
    spiked[3, 10] += 40.0
    out = MedianFilter(n_mels=8).fit_transform(spiked[None].reshape(1, -1))
    np.testing.assert_array_equal(out.reshape(8, 20), S)


def test_median_filter_keeps_stationary_spectrum(rng):
    """Check that a spectrum constant in time passes unchanged, borders included."""
    column = rng.uniform(-80, 0, size=16).astype(np.float32)
    S = np.repeat(column[:, None], 30, axis=1)[None].reshape(1, -1)
    for kernel in [(1, 5), (1, 9)]:
        np.testing.assert_array_equal(
            MedianFilter(n_mels=16, kernel_size=kernel).fit_transform(S), S
        )


def test_median_filter_identity_kernel(rng):
    """Check that kernel (1, 1) returns the input unchanged (as a new array)."""
    X = rng.standard_normal((3, 40)).astype(np.float32)
    out = MedianFilter(n_mels=4, kernel_size=(1, 1)).fit_transform(X)
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_median_filter_matches_scipy_per_clip(rng):
    """Check that the batched filter equals scipy's filter applied clip by clip."""
    from scipy.ndimage import median_filter

    X = rng.standard_normal((3, 8 * 25))
    out = MedianFilter(n_mels=8, kernel_size=(3, 5)).fit_transform(X)
    for i in range(3):
        ref = median_filter(X[i].reshape(8, 25), size=(3, 5), mode="nearest")
        np.testing.assert_array_equal(out[i].reshape(8, 25), ref)


@pytest.mark.parametrize("kernel", [(1, 4), (0, 3), (1,), (1, 3, 3), (1.0, 3)])
def test_median_filter_rejects_bad_kernels(rng, kernel):
    """Check that even, zero, float or wrongly sized kernels are refused."""
    with pytest.raises(ValueError, match="positive odd integers"):
        MedianFilter(n_mels=2, kernel_size=kernel).fit(rng.standard_normal((2, 10)))


# ------------------------------------------------------ n_mels consistency (layout)


def test_n_mels_mismatch_is_caught_even_when_sizes_divide(rng):
    """Check a mel/median-filter n_mels mismatch raises although reshaping works.

    12-s clips give 376 frames; 64 bands x 376 frames = 128 x 188, so a plain
    reshape with n_mels=128 would silently succeed with wrong rows.
    """
    X = rng.standard_normal((2, 12 * 16000)).astype(np.float32)
    pipe = Pipeline(
        [("mel", LogMelSpectrogram(n_mels=64)), ("mf", MedianFilter(n_mels=128))]
    )
    with pytest.raises(
        ValueError, match=r"n_mels=128.*produced by LogMelSpectrogram with n_mels=64"
    ):
        pipe.fit(X)
    pipe.set_params(mf__n_mels=64)
    assert pipe.fit_transform(X).shape == (2, 64 * 376)


def test_n_mels_mismatch_propagates_through_median_filter(rng):
    """Check BandStatistics after a MedianFilter still sees the upstream layout."""
    X = rng.standard_normal((2, 12 * 16000)).astype(np.float32)
    pipe = Pipeline(
        [
            ("mel", LogMelSpectrogram(n_mels=64)),
            ("mf", MedianFilter(n_mels=64)),
            ("stats", BandStatistics(n_mels=128)),
        ]
    )
    with pytest.raises(ValueError, match="produced by MedianFilter with n_mels=64"):
        pipe.fit(X)


def test_n_mels_grid_over_one_step_is_noticed(rng):
    """Check a grid over mel__n_mels alone fails loudly instead of scoring."""
    from sklearn.ensemble import IsolationForest

    X = rng.standard_normal((12, 12 * 16000)).astype(np.float32)
    pipe = Pipeline(
        [
            ("mel", LogMelSpectrogram(n_mels=128)),
            ("stats", BandStatistics(n_mels=128)),
            ("det", IsolationForest(n_estimators=5, random_state=0)),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"mel__n_mels": [64]},
        cv=KFold(2),
        scoring=lambda est, X, y=None: float(np.mean(est.score_samples(X))),
        error_score="raise",
    )
    with pytest.raises(ValueError, match="Set the same n_mels on every step"):
        grid.fit(X)


def test_copied_array_without_layout_still_checks_divisibility(rng):
    """Check the fallback when the layout record is lost (array rebuilt)."""
    X = rng.standard_normal((2, 10 * 16000)).astype(np.float32)
    feats = np.array(LogMelSpectrogram(n_mels=64).fit_transform(X))  # 64 x 313
    with pytest.raises(ValueError, match="not a multiple of 128"):
        MedianFilter(n_mels=128).fit(feats)


# ----------------------------------------------------------------- BandStatistics


def test_band_statistics_values(rng):
    """Check the statistics against numpy on the reshaped spectrogram."""
    X = rng.standard_normal((3, 4 * 7))
    out = BandStatistics(
        n_mels=4, statistics=("max", "mean", "std", "min")
    ).fit_transform(X)
    S = X.reshape(3, 4, 7)
    np.testing.assert_allclose(
        out, np.hstack([S.max(2), S.mean(2), S.std(2), S.min(2)])
    )


def test_band_statistics_rejects_unknown_statistic(rng):
    """Check an unknown statistic is refused with the list of valid ones."""
    with pytest.raises(ValueError, match="statistics must be"):
        BandStatistics(n_mels=2, statistics=("median",)).fit(
            rng.standard_normal((2, 4))
        )


# -------------------------------------------------------------------- AudioLoader


def _write(path, data, sr=16000, subtype=None, fmt=None):
    sf.write(path, data, sr, subtype=subtype, format=fmt)
    return str(path)


@pytest.mark.parametrize(
    ("subtype", "suffix", "atol"),
    [
        ("PCM_U8", ".wav", 1 / 64),
        ("PCM_16", ".wav", 1e-4),
        ("PCM_24", ".wav", 1e-6),
        ("PCM_32", ".wav", 1e-6),
        ("FLOAT", ".wav", 0),
        ("PCM_16", ".flac", 1e-4),
        ("PCM_24", ".flac", 1e-6),
    ],
)
def test_audio_loader_reads_formats(tmp_path, rng, subtype, suffix, atol):
    """Check wav/flac at 8/16/24/32-bit PCM and float read back as float32."""
    y = (0.5 * np.sin(np.arange(8000) * 0.05)).astype(np.float32)
    path = _write(tmp_path / f"clip{suffix}", y, subtype=subtype)
    X = AudioLoader().fit_transform([path])
    assert X.dtype == np.float32 and X.shape == (1, 8000)
    np.testing.assert_allclose(X[0], y, atol=atol + 1e-7)


def test_audio_loader_averages_stereo(tmp_path):
    """Check multi-channel files are averaged with mono=True, refused otherwise."""
    left = np.full(1000, 0.2, np.float32)
    right = np.full(1000, -0.4, np.float32)
    path = _write(tmp_path / "stereo.wav", np.stack([left, right], 1), subtype="FLOAT")
    np.testing.assert_allclose(AudioLoader().fit_transform([path])[0], -0.1, atol=1e-7)
    eight = _write(
        tmp_path / "eight.wav", np.ones((1000, 8), np.float32) * 0.1, subtype="FLOAT"
    )
    np.testing.assert_allclose(AudioLoader().fit_transform([eight])[0], 0.1, atol=1e-7)
    with pytest.raises(ValueError, match=r"stereo\.wav.*2 channels.*mono=True"):
        AudioLoader(mono=False).fit_transform([path])


def test_audio_loader_resamples(tmp_path):
    """Check an 8-kHz file becomes 16 kHz with the tone at the same frequency."""
    t = np.arange(8000) / 8000
    path = _write(
        tmp_path / "low.wav",
        0.5 * np.sin(2 * np.pi * 500 * t),
        sr=8000,
        subtype="FLOAT",
    )
    X = AudioLoader(sr=16000).fit_transform([path])
    assert X.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(X[0]))
    assert np.argmax(spectrum) == 500  # 1-s clip: bin index = Hz


def test_audio_loader_pads_and_crops(tmp_path):
    """Check duration= pads short clips with zeros and crops long ones."""
    short = _write(
        tmp_path / "short.wav", np.full(800, 0.5, np.float32), subtype="FLOAT"
    )
    long = _write(
        tmp_path / "long.wav", np.full(3200, 0.25, np.float32), subtype="FLOAT"
    )
    X = AudioLoader(duration=0.1).fit_transform([short, long])
    assert X.shape == (2, 1600)
    np.testing.assert_array_equal(X[0, :800], 0.5)
    np.testing.assert_array_equal(X[0, 800:], 0.0)
    np.testing.assert_array_equal(X[1], 0.25)


def test_audio_loader_length_from_first_clip(tmp_path):
    """Check duration=None keeps the fit length and names a file that differs."""
    a = _write(tmp_path / "a.wav", np.zeros(1000, np.float32))
    b = _write(tmp_path / "b.wav", np.zeros(1200, np.float32))
    loader = AudioLoader().fit([a])
    assert loader.n_samples_ == 1000
    assert loader.transform([a, a]).shape == (2, 1000)
    with pytest.raises(
        ValueError, match=r"b\.wav.*1200 samples.*first clip had 1000.*duration="
    ):
        loader.transform([a, b])
    with pytest.raises(ValueError, match=r"b\.wav"):
        AudioLoader().fit_transform([a, b])


def test_audio_loader_file_errors_name_the_file(tmp_path):
    """Check missing, non-audio, truncated, zero-length and NaN files."""
    good = _write(tmp_path / "good.wav", np.zeros(1000, np.float32))
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        AudioLoader().fit_transform([good, str(tmp_path / "missing.wav")])
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(ValueError, match=r"notes\.wav.*not a readable"):
        AudioLoader().fit_transform([str(text)])
    full = tmp_path / "full.wav"
    _write(full, np.zeros(16000, np.float32))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:10000])
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated"):
        AudioLoader().fit_transform([str(cut)])
    empty = _write(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r"empty\.wav.*zero-length"):
        AudioLoader().fit_transform([empty])
    nan = np.zeros(100, np.float32)
    nan[5] = np.nan
    nan_path = _write(tmp_path / "nan.wav", nan, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"nan\.wav.*NaN"):
        AudioLoader().fit_transform([nan_path])
    with pytest.raises(ValueError, match="directory"):
        AudioLoader().fit_transform([str(tmp_path)])


def test_audio_loader_rejects_bad_path_lists(tmp_path):
    """Check a bare string, an empty list, a 2-D table and non-paths."""
    with pytest.raises(TypeError, match="single path"):
        AudioLoader().fit("clip.wav")
    with pytest.raises(ValueError, match="empty list"):
        AudioLoader().fit([])
    with pytest.raises(ValueError, match="1-D array-like"):
        AudioLoader().fit([["a.wav", "b.wav"]])
    with pytest.raises(TypeError, match="element 1 is float"):
        AudioLoader().fit(["a.wav", 3.5])
    with pytest.raises(Exception, match="This AudioLoader instance is not fitted"):
        AudioLoader().transform(["a.wav"])


def test_audio_loader_accepts_column_and_parallel(tmp_path, rng):
    """Check an (n, 1) column and n_jobs=2 give the same waveforms."""
    paths = [
        _write(
            tmp_path / f"{i}.wav",
            rng.uniform(-0.5, 0.5, 500).astype(np.float32),
            subtype="FLOAT",
        )
        for i in range(5)
    ]
    serial = AudioLoader().fit_transform(paths)
    column = AudioLoader(n_jobs=2).fit_transform(np.array(paths)[:, None])
    np.testing.assert_array_equal(serial, column)


def test_audio_loader_clone_params_pickle(tmp_path):
    """Check clone, get/set_params and a pickle round trip of a fitted loader."""
    path = _write(tmp_path / "x.wav", np.full(400, 0.1, np.float32), subtype="FLOAT")
    loader = AudioLoader(sr=8000, duration=0.5, n_jobs=1)
    assert clone(loader).get_params() == loader.get_params()
    loader.set_params(sr=16000)
    assert loader.sr == 16000
    loader.fit([path])
    restored = pickle.loads(pickle.dumps(loader))
    np.testing.assert_array_equal(restored.transform([path]), loader.transform([path]))
    assert not hasattr(clone(loader), "n_samples_")


def test_audio_loader_reads_real_tree(shared_datasets):
    """Check 10-s and 11-s real clips load at 16 kHz with duration=10."""
    files = sorted((shared_datasets / "dcase2020t2-dev-lite" / "ToyCar").rglob("*.wav"))
    files += sorted((shared_datasets / "mimii-becode-demo-ch0" / "fan").rglob("*.wav"))[
        :2
    ]
    X = AudioLoader(duration=10.0).fit_transform(files)
    assert X.shape == (len(files), 160000)
    assert np.isfinite(X).all() and np.abs(X).max() <= 1.0
    with pytest.raises(ValueError, match="first clip had 176000"):
        AudioLoader().fit_transform(files)  # 11-s ToyCar then 10-s MIMII
