import pickle
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

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


def _direct_spectral(S):
    """The 5 spectral descriptors from their definitions, straight on 10 ** (S / 10).

    ``S`` is (n_clips, n_mels, n_frames); returns (n_clips, 5, n_frames).
    """
    P = 10.0 ** (S / 10.0)
    k = np.arange(S.shape[1])[None, :, None]
    total = P.sum(axis=1)
    centroid = (k * P).sum(axis=1) / total
    bandwidth = np.sqrt(((k - centroid[:, None]) ** 2 * P).sum(axis=1) / total)
    share = np.cumsum(P, axis=1) / total[:, None]
    rolloff = np.array(
        [[np.flatnonzero(col >= 0.85)[0] for col in clip.T] for clip in share]
    )
    flatness = np.exp(np.log(P).mean(axis=1)) / P.mean(axis=1)
    energy = 10.0 * np.log10(total)
    return np.stack([centroid, bandwidth, rolloff, flatness, energy], axis=1)


def _summary(G, stats=("mean", "std")):
    """Statistic-major summary over frames of (n_clips, n_rows, n_frames)."""
    funcs = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}
    return np.hstack([funcs[s](G, axis=2) for s in stats])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_band_statistics_default_is_unchanged(rng, dtype):
    """Check the default output is every band's mean then std, bit for bit."""
    X = (rng.standard_normal((4, 5 * 9)) * 20 - 40).astype(dtype)
    S = X.reshape(4, 5, 9)
    expected = np.hstack([S.mean(axis=2), S.std(axis=2)])
    default = BandStatistics(n_mels=5).fit_transform(X)
    explicit = BandStatistics(n_mels=5, features=("bands",), n_mfcc=3).fit_transform(X)
    assert default.dtype == dtype
    np.testing.assert_array_equal(default, expected)
    np.testing.assert_array_equal(explicit, expected)


def test_band_statistics_mfcc_matches_librosa(rng):
    """Check the "mfcc" group against librosa.feature.mfcc on log-mel clips."""
    S_flat = LogMelSpectrogram(n_mels=40).fit_transform(_tone_and_noise(rng))
    stats = ("mean", "std", "min", "max")
    out = BandStatistics(
        n_mels=40, statistics=stats, features=("mfcc",), n_mfcc=13
    ).fit_transform(S_flat)
    M = np.stack(
        [librosa.feature.mfcc(S=S, n_mfcc=13) for S in S_flat.reshape(3, 40, -1)]
    )
    assert out.shape == (3, 13 * 4)
    np.testing.assert_allclose(out, _summary(M, stats), rtol=1e-5, atol=1e-3)


def test_band_statistics_mfcc_matches_librosa_on_real_log_mel(shared_datasets):
    """Check the "mfcc" group equals librosa's MFCC of a real clip's log-mel."""
    y, _ = sf.read(
        shared_datasets / "mimii-becode-demo-ch0/fan/normal/00000000.wav",
        dtype="float32",
    )
    S_flat = LogMelSpectrogram().fit_transform(y[None, :]).astype(np.float64)
    out = BandStatistics(features=("mfcc",), n_mfcc=20).fit_transform(S_flat)
    M = librosa.feature.mfcc(S=S_flat.reshape(128, -1), n_mfcc=20)
    np.testing.assert_allclose(out, _summary(M[None]), rtol=1e-10, atol=1e-9)
    # 20 coefficients of real audio: c0 carries the loudness, the rest the shape
    assert np.abs(M[0]).mean() > np.abs(M[1:]).mean(axis=1).max()


def test_band_statistics_spectral_hand_made_frames():
    """Check the 5 descriptors on frames with known answers (6 bands, 3 frames).

    Frame 0: one active band (2) at 30 dB, the others at -1000 dB; frame 1: a flat
    spectrum at 0 dB; frame 2: bands 1 and 3 at 10 dB, the others at -1000 dB.
    """
    S = np.full((6, 3), -1000.0)
    S[2, 0] = 30.0
    S[:, 1] = 0.0
    S[[1, 3], 2] = 10.0
    stats = BandStatistics(
        n_mels=6, statistics=("min", "max"), features=("spectral",)
    ).fit(S.reshape(1, -1))
    out = stats.transform(S.reshape(1, -1))[0]
    names = stats.get_feature_names_out().tolist()
    got = dict(zip(names, out))
    # centroid: band 2 / mean band 2.5 / midway between 1 and 3
    assert got["min_centroid"] == pytest.approx(2.0)
    assert got["max_centroid"] == pytest.approx(2.5)
    # bandwidth: 0 for one band, 1 for two bands 2 apart, sqrt(35/12) when flat
    assert got["min_bandwidth"] == pytest.approx(0.0, abs=1e-12)
    assert got["max_bandwidth"] == pytest.approx(np.sqrt(35 / 12))
    # rolloff: band 2 / band 5 (5/6 < 0.85 of a flat spectrum) / band 3
    assert (got["min_rolloff"], got["max_rolloff"]) == (2.0, 5.0)
    # flatness: 1 for the flat frame, 0 for the peaky ones
    assert got["max_flatness"] == pytest.approx(1.0)
    assert got["min_flatness"] == pytest.approx(0.0, abs=1e-12)
    # energy: 30 dB, 10 log10(6) and 10 + 10 log10(2) dB
    assert got["max_energy_db"] == pytest.approx(30.0)
    assert got["min_energy_db"] == pytest.approx(10 * np.log10(6))


def test_band_statistics_spectral_matches_direct_numpy(rng):
    """Check the descriptors against their definitions on random log-mel clips."""
    X = rng.uniform(-80, 20, size=(3, 12 * 25))
    stats = ("mean", "std", "min", "max")
    out = BandStatistics(
        n_mels=12, statistics=stats, features=("spectral",)
    ).fit_transform(X)
    expected = _summary(_direct_spectral(X.reshape(3, 12, 25)), stats)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_band_statistics_shift_in_db(rng):
    """Check a gain of +c dB moves only the energy (by c) and MFCC 0 (by c sqrt(M))."""
    X = rng.uniform(-80, 0, size=(2, 16 * 10))
    est = BandStatistics(
        n_mels=16, statistics=("mean",), features=("mfcc", "spectral"), n_mfcc=4
    ).fit(X)
    diff = est.transform(X + 7.0) - est.transform(X)
    expected = np.zeros(9)
    expected[0] = 7.0 * np.sqrt(16)
    expected[8] = 7.0
    np.testing.assert_allclose(diff, np.tile(expected, (2, 1)), atol=1e-9)


def test_band_statistics_groups_order_shape_and_names(rng):
    """Check the groups come in the order given, statistic-major, with names."""
    X = rng.uniform(-80, 0, size=(3, 6 * 11))
    stats = ("mean", "max")
    parts = {
        f: BandStatistics(
            n_mels=6, statistics=stats, features=(f,), n_mfcc=4
        ).fit_transform(X)
        for f in ("bands", "mfcc", "spectral")
    }
    est = BandStatistics(
        n_mels=6, statistics=stats, features=("spectral", "bands", "mfcc"), n_mfcc=4
    ).fit(X)
    out = est.transform(X)
    assert out.shape == (3, 2 * 5 + 2 * 6 + 2 * 4)
    np.testing.assert_array_equal(
        out, np.hstack([parts["spectral"], parts["bands"], parts["mfcc"]])
    )
    names = est.get_feature_names_out()
    assert names.shape == (out.shape[1],)
    assert names[:5].tolist() == [
        "mean_centroid",
        "mean_bandwidth",
        "mean_rolloff",
        "mean_flatness",
        "mean_energy_db",
    ]
    assert names[5:10].tolist() == [
        "max_centroid",
        "max_bandwidth",
        "max_rolloff",
        "max_flatness",
        "max_energy_db",
    ]
    assert names[10:12].tolist() == ["mean_mel0", "mean_mel1"]
    assert names[16:18].tolist() == ["max_mel0", "max_mel1"]
    assert names[22:].tolist() == [f"{s}_mfcc{j}" for s in stats for j in range(4)]
    # bands, the mfcc and the spectral values are 3 distinct groups
    assert len(set(names)) == names.size


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"features": ("bands", "chroma")}, "features must be"),
        ({"features": ()}, "features must be"),
        ({"features": ("mfcc", "mfcc")}, "features must be"),
        ({"features": ("mfcc",), "n_mfcc": 5}, "n_mfcc=5 exceeds n_mels=4"),
    ],
)
def test_band_statistics_rejects_bad_features(rng, params, match):
    """Check unknown, empty or repeated groups and n_mfcc > n_mels are refused."""
    X = rng.standard_normal((2, 4 * 3))
    with pytest.raises(ValueError, match=match):
        BandStatistics(n_mels=4, **params).fit(X)
    # set after fit: transform checks again
    est = BandStatistics(n_mels=4).fit(X)
    with pytest.raises(ValueError, match=match):
        est.set_params(**params).transform(X)


@pytest.mark.parametrize(
    "params", [{"features": "mfcc"}, {"n_mfcc": 0}, {"n_mfcc": 2.5}]
)
def test_band_statistics_rejects_bad_parameter_types(rng, params):
    """Check a bare string of features and non-positive n_mfcc are refused."""
    with pytest.raises(InvalidParameterError):
        BandStatistics(n_mels=4, **params).fit(rng.standard_normal((2, 4 * 3)))


def test_band_statistics_n_mfcc_unused_without_mfcc(rng):
    """Check n_mfcc > n_mels is fine when the "mfcc" group is not asked for."""
    X = rng.standard_normal((2, 2 * 3))
    out = BandStatistics(n_mels=2, features=("bands", "spectral")).fit_transform(X)
    assert out.shape == (2, 2 * 2 + 2 * 5)


@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float32, 1e30), (np.float32, 2e37), (np.float64, 1e300)]
)
def test_band_statistics_new_groups_of_huge_values(rng, dtype, scale):
    """Check MFCC and spectral statistics of huge values are finite and right.

    float32 DCTs of 2e37-scale values overflow in their intermediate sums (the
    coefficients themselves fit): those clips are recomputed in float64.
    """
    X = (rng.uniform(0.5, 1.0, size=(3, 16 * 10)) * scale).astype(dtype)
    X[0] *= -1.0
    stats = ("mean", "std", "min", "max")
    out = BandStatistics(
        n_mels=16, statistics=stats, features=("mfcc", "spectral"), n_mfcc=16
    ).fit_transform(X)
    assert out.dtype == dtype
    assert np.isfinite(out).all()
    S = X.astype(np.float64).reshape(3, 16, 10)
    C = librosa.feature.mfcc(S=S / scale, n_mfcc=16)
    np.testing.assert_allclose(
        out[:, : 16 * 4], _summary(C, stats) * scale, rtol=1e-4, atol=1e-6 * scale
    )
    # every band but the loudest is far below it in dB: their P is 0
    centroid_mean = out[:, 16 * 4]
    np.testing.assert_allclose(centroid_mean, S.argmax(axis=1).mean(axis=1), rtol=1e-6)
    energy_max = out[:, 16 * 4 + 5 * 3 + 4]
    np.testing.assert_allclose(energy_max, S.max(axis=(1, 2)), rtol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float32, 3e38), (np.float64, 1.7e308)]
)
def test_band_statistics_mfcc_beyond_the_dtype_raises(rng, dtype, scale):
    """Check MFCCs the dtype cannot hold raise a ValueError, never inf or NaN."""
    X = (rng.uniform(0.9, 1.0, size=(2, 16 * 4)) * scale).astype(dtype)
    est = BandStatistics(n_mels=16, features=("mfcc",)).set_params(n_mfcc=3)
    with pytest.raises(ValueError, match=r"MFCCs of row\(s\) 0, 1 exceed the"):
        est.fit_transform(X)
    # the spectral descriptors of the same clips are finite
    out = BandStatistics(n_mels=16, features=("spectral",)).fit_transform(X)
    assert out.dtype == dtype
    assert np.isfinite(out).all()


def test_band_statistics_clone_and_pickle(rng):
    """Check the new parameters survive clone and pickling."""
    X = rng.uniform(-80, 0, size=(2, 8 * 5))
    est = BandStatistics(n_mels=8, features=("mfcc", "spectral"), n_mfcc=3).fit(X)
    assert clone(est).get_params()["features"] == ("mfcc", "spectral")
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    np.testing.assert_array_equal(
        again.get_feature_names_out(), est.get_feature_names_out()
    )
    # a model pickled before features/n_mfcc existed keeps its old output
    old = BandStatistics(n_mels=8).fit(X)
    state = dict(old.__getstate__())
    del state["features"], state["n_mfcc"]
    restored = BandStatistics.__new__(BandStatistics)
    restored.__setstate__(state)
    np.testing.assert_array_equal(restored.transform(X), old.transform(X))


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
