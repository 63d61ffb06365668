# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The DCASE autoencoder baseline, public as ``sklearn_asd.estimator`` (private)."""

import numpy as np

from sklearn_asd._neural import (
    _FITTED_SIZES,
    _POSITIVE_INT,
    _PRECISION,
    _mse,
    _NeuralDetector,
    _padded_chunks,
)
from sklearn_asd.utils._detector import _CONTAMINATION
from sklearn_asd.utils._docstring import _substitute

__all__ = ["AutoencoderBaseline"]


@_substitute(
    precision=_PRECISION, contamination=_CONTAMINATION, fitted_sizes=_FITTED_SIZES
)
class AutoencoderBaseline(_NeuralDetector):
    """DCASE 2020/2021 autoencoder baseline on stacked log-mel frames.

    Each clip gives vectors of ``n_stack`` consecutive frames (``n_stack * n_mels``
    values); a dense autoencoder (``n_hidden`` layers of ``hidden_dim`` on each
    side of a ``bottleneck_dim`` bottleneck) learns to reconstruct them; the
    anomaly score of a clip is the mean over its vectors of the reconstruction
    MSE. Sections are accepted for API symmetry and ignored. Defaults follow the
    DCASE baseline (5 frames, 128 x 4 / 8, 100 epochs, batch 512, Adam 1e-3).

    Parameters
    ----------
    n_mels : int, default=128
        Mel bands of the input spectrograms.
    n_stack : int, default=5
        Consecutive frames per vector.
    hidden_dim : int, default=128
        Width of the hidden dense layers.
    bottleneck_dim : int, default=8
        Size of the bottleneck.
    n_hidden : int, default=4
        Hidden layers on each side of the bottleneck.
    max_epochs : int, default=100
        Training epochs.
    batch_size : int, default=512
        Vectors per batch.
    lr : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=None
        Fraction of clips held out to record validation losses.
    device : str, default="cpu"
        Torch device.
    {precision}
    {contamination}
    random_state : int, RandomState instance or None, default=None
        Seeds torch and the validation split.
    verbose : int, default=0
        1 prints skorch's per-epoch table.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net.
    classes_ : ndarray
        A single placeholder class (sections are ignored).
    offset_ : float
        Threshold subtracted in ``decision_function``.
    history_ : skorch.callbacks.History
        Per-epoch losses.
    {fitted_sizes}

    See Also
    --------
    ContrastiveASDEstimator : The seed system.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd import AutoencoderBaseline
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6, 4 * 10)).astype(np.float32)
    >>> det = AutoencoderBaseline(n_mels=4, max_epochs=2, random_state=0).fit(X)
    >>> det.anomaly_score(X).shape
    (6,)
    """

    _parameter_constraints: dict = {
        **_NeuralDetector._common_constraints,
        "n_stack": _POSITIVE_INT,
        "hidden_dim": _POSITIVE_INT,
        "bottleneck_dim": _POSITIVE_INT,
        "n_hidden": _POSITIVE_INT,
    }

    _uses_sections = False

    def __init__(
        self,
        *,
        n_mels=128,
        n_stack=5,
        hidden_dim=128,
        bottleneck_dim=8,
        n_hidden=4,
        max_epochs=100,
        batch_size=512,
        lr=1e-3,
        validation_fraction=None,
        device="cpu",
        precision="float32",
        contamination="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_mels = n_mels
        self.n_stack = n_stack
        self.hidden_dim = hidden_dim
        self.bottleneck_dim = bottleneck_dim
        self.n_hidden = n_hidden
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.device = device
        self.precision = precision
        self.contamination = contamination
        self.random_state = random_state
        self.verbose = verbose

    def _score_key(self):
        return "ae"

    def _items_per_clip(self, n_frames):
        if n_frames < self.n_stack:
            raise ValueError(
                f"clips have {n_frames} frames, fewer than n_stack={self.n_stack}"
            )
        return n_frames - self.n_stack + 1

    def _train_dataset(self, S, labels, idx):
        from sklearn_asd._net import _FrameStackDataset

        return _FrameStackDataset(S[idx], self.n_stack)

    def _build_net(self, S, labels, device, aug_seed, split_seed):
        from sklearn_asd.models import FrameStackAutoencoder

        module = FrameStackAutoencoder(
            self.n_stack * self.n_mels,
            hidden_dim=self.hidden_dim,
            bottleneck_dim=self.bottleneck_dim,
            n_hidden=self.n_hidden,
        )
        return self._make_net(module, S, labels, device, split_seed, terms=["recon"])

    def _anomaly_scores(self, S, idx):
        import torch

        from sklearn_asd.models._scoring import _clip_mean, _stack_frames

        module = self.net_.module_
        module.eval()
        per_clip = S.shape[2] - self.n_stack + 1
        clips_per_chunk = max(1, 4096 // per_clip)
        out = np.empty(S.shape[0], dtype=np.float64)
        with torch.inference_mode(), self._autocast():
            # fixed-size (padded) chunks: a clip's score never depends on the
            # other clips scored with it
            for rows, chunk in _padded_chunks(S, clips_per_chunk):
                vec = _stack_frames(chunk, self.n_stack).to(self.net_.device)
                err = _clip_mean(_mse(module(vec), vec, dim=1), per_clip).numpy()
                out[rows] = err[: rows.stop - rows.start]
        return out
