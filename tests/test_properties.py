"""Property-based tests (hypothesis; CI profile in conftest: few examples)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import roc_auc_score

from sklearn_asd.features import LogMelSpectrogram, MedianFilter
from sklearn_asd.metrics import partial_auc_score

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@st.composite
def labelled_scores(draw):
    n = draw(st.integers(4, 40))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    y[0], y[1] = 0, 1  # both classes present
    s = draw(arrays(np.float64, n, elements=st.floats(-1e6, 1e6)))
    return y, s


@given(labelled_scores(), st.floats(0.01, 1.0))
def test_partial_auc_equals_sklearn_and_is_rank_invariant(data, max_fpr):
    """Check the standardized pAUC is sklearn's and depends only on ranks."""
    y, s = data
    value = partial_auc_score(y, s, max_fpr=max_fpr)
    assert value == roc_auc_score(y, s, max_fpr=None if max_fpr == 1 else max_fpr)
    assert partial_auc_score(y, np.tanh(s / 1e6) * 7 + 3, max_fpr=max_fpr) == (
        partial_auc_score(y, s / 1e6 * 7 + 3, max_fpr=max_fpr)
    )
    raw = partial_auc_score(y, s, max_fpr=max_fpr, standardized=False)
    assert 0.0 <= raw <= 1.0


@given(arrays(np.float32, (2, 4 * 9), elements=finite), st.sampled_from([1, 3, 5]))
def test_median_filter_stays_within_each_band_range(X, k):
    """Check time-only filtering never leaves a band's [min, max] range."""
    out = MedianFilter(n_mels=4, kernel_size=(1, k)).fit_transform(X)
    S, F = X.reshape(2, 4, 9), out.reshape(2, 4, 9)
    assert (F >= S.min(axis=2, keepdims=True)).all()
    assert (F <= S.max(axis=2, keepdims=True)).all()


@given(arrays(np.float32, (2, 2048), elements=st.floats(-1, 1, width=32)))
def test_log_mel_is_finite_and_bounded_below(X):
    """Check any finite waveform (silence included) gives finite dB values."""
    out = LogMelSpectrogram(n_mels=16, n_fft=256, hop_length=128).fit_transform(X)
    assert np.isfinite(out).all()
    assert out.min() >= 10 * np.log10(np.finfo(float).eps) - 1e-3
