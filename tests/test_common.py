"""scikit-learn's common estimator checks for every public array-in estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_asd import KNNDetector
from sklearn_asd.estimator import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd.features import BandStatistics, LogMelSpectrogram, MedianFilter

# Tiny settings: the checks feed small random matrices (a handful of columns), so
# the spectrogram steps get one mel band, short FFTs and one-frame patches.
_TINY_NET = {"max_epochs": 2, "batch_size": 16, "random_state": 0}
_TINY_CONTRASTIVE = {
    "n_mels": 1,
    "patch_frames": 1,
    "patch_hop": 1,
    "width": 0.1,
    "last_channel": 8,
    "embedding_dim": 4,
    "ae_hidden_dim": 8,
    "ae_bottleneck_dim": 2,
    **_TINY_NET,
}
ESTIMATORS = [
    LogMelSpectrogram(sr=8, n_fft=2, hop_length=1, n_mels=1, pad_mode="constant"),
    MedianFilter(n_mels=1, kernel_size=(1, 3)),
    BandStatistics(n_mels=1),
    BandStatistics(n_mels=1, features=("bands", "mfcc", "spectral"), n_mfcc=1),
    ContrastiveASDEstimator(**_TINY_CONTRASTIVE),
    ContrastiveASDEstimator(score_mode="shared", **_TINY_CONTRASTIVE),
    AutoencoderBaseline(
        n_mels=1, n_stack=1, hidden_dim=8, bottleneck_dim=2, **_TINY_NET
    ),
    KNNDetector(),
    KNNDetector(n_neighbors=2, method="mean", metric="cosine", contamination=0.1),
]
# ContrastiveASDEstimator(branches="cnn") (the MobileNetV2 baseline) refuses data
# with a single section and is not in this list: the checks fit without sections.
# Its behaviour with sections is tested in tests/test_estimator.py.


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
