"""scikit-learn's common estimator checks for every public array-in estimator."""

import pytest
from _configs import CHECK_AE, CHECK_CONTRASTIVE
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_asd import KNNDetector
from sklearn_asd.estimator import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd.features import BandStatistics, LogMelSpectrogram, MedianFilter

# Tiny settings (tests/_configs.py): the checks feed small random matrices (a
# handful of columns), so the spectrogram steps get one mel band, short FFTs and
# one-frame patches.
ESTIMATORS = [
    LogMelSpectrogram(sr=8, n_fft=2, hop_length=1, n_mels=1, pad_mode="constant"),
    MedianFilter(n_mels=1, kernel_size=(1, 3)),
    BandStatistics(n_mels=1),
    BandStatistics(n_mels=1, features=("bands", "mfcc", "spectral"), n_mfcc=1),
    ContrastiveASDEstimator(**CHECK_CONTRASTIVE),
    ContrastiveASDEstimator(score_mode="shared", **CHECK_CONTRASTIVE),
    AutoencoderBaseline(**CHECK_AE),
    KNNDetector(),
    KNNDetector(n_neighbors=2, method="mean", metric="cosine", contamination=0.1),
]
# ContrastiveASDEstimator(branches="cnn") (the MobileNetV2 baseline) refuses data
# with a single section and is not in this list: the checks fit without sections.
# Its behaviour with sections is tested in tests/test_estimator.py.

# torch on one thread: several threads on a busy 2-core machine are 5-20x slower
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
