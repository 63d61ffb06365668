"""scikit-learn's common estimator checks for every public array-in estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_asd.features import BandStatistics, LogMelSpectrogram, MedianFilter

# Tiny settings: the checks feed small random matrices (a handful of columns), so
# the spectrogram steps get one mel band and short FFTs.
ESTIMATORS = [
    LogMelSpectrogram(sr=8, n_fft=2, hop_length=1, n_mels=1, pad_mode="constant"),
    MedianFilter(n_mels=1, kernel_size=(1, 3)),
    BandStatistics(n_mels=1),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
