# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Dense autoencoders: the AE branch of the dual model and the DCASE AE baseline.

- :class:`PatchAutoencoder` is the unsupervised branch of
  :class:`~sklearn_asd.models.DualBranchASD`: it reconstructs the same
  log-mel patch the MobileNetV2 branch classifies, and its bottleneck code is
  the ``p`` of the contrastive loss.
- :class:`FrameStackAutoencoder` is the DCASE 2020/2021 Task 2 autoencoder
  baseline on 5 stacked log-mel frames (640 inputs). It is a separate
  baseline model, not a branch of the dual model.
"""

import itertools
import math

from torch import nn

from sklearn_asd.utils._validation import _check_positive_int

__all__ = ["FrameStackAutoencoder", "PatchAutoencoder"]


def _dense_bn_relu(n_in, n_out, **bn_kwargs):
    """Return Linear + BatchNorm1d + ReLU."""
    return nn.Sequential(
        nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out, **bn_kwargs), nn.ReLU()
    )


class PatchAutoencoder(nn.Module):
    """Dense autoencoder on a flattened log-mel patch (the AE branch).

    Encoder: ``Linear(n_mels * patch_frames -> hidden_dim)`` + BatchNorm +
    ReLU, ``Linear(hidden_dim -> hidden_dim)`` + BatchNorm + ReLU,
    ``Linear(hidden_dim -> bottleneck_dim)`` (linear code). The decoder
    mirrors it back to ``n_mels * patch_frames`` with a linear output.

    The branch is dense rather than convolutional for two reasons: it works
    for any patch size, including the 1x1 patches that scikit-learn's
    estimator checks feed through the dual model, without a shape-dependent
    stack of strided (de)convolutions; and it is cheap next to the CNN
    (about ``2 * n_mels * patch_frames * hidden_dim`` multiply-adds per patch,
    4.2 M for a 128x64 patch with the defaults). It encodes the *same* patch
    as the CNN, so the contrastive pair ``(u_i, p_i)`` describes one input.

    Parameters
    ----------
    n_mels : int
        Mel bands of a patch.
    patch_frames : int
        Frames of a patch.
    hidden_dim : int, default=256
        Width of the two hidden layers of the encoder and of the decoder.
    bottleneck_dim : int, default=64
        Size of the code ``p``.

    Attributes
    ----------
    n_input : int
        ``n_mels * patch_frames``.
    encoder, decoder : nn.Sequential
        The two halves.

    Notes
    -----
    BatchNorm in training mode needs a batch of at least 2.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.models import PatchAutoencoder
    >>> ae = PatchAutoencoder(n_mels=8, patch_frames=4, bottleneck_dim=16).eval()
    >>> reconstruction, code = ae(torch.zeros(3, 1, 8, 4))
    >>> reconstruction.shape, code.shape
    (torch.Size([3, 1, 8, 4]), torch.Size([3, 16]))
    """

    def __init__(self, n_mels, patch_frames, *, hidden_dim=256, bottleneck_dim=64):
        super().__init__()
        self.n_mels = _check_positive_int(n_mels, "n_mels")
        self.patch_frames = _check_positive_int(patch_frames, "patch_frames")
        self.hidden_dim = hidden = _check_positive_int(hidden_dim, "hidden_dim")
        self.bottleneck_dim = _check_positive_int(bottleneck_dim, "bottleneck_dim")
        self.n_input = self.n_mels * self.patch_frames
        self.encoder = nn.Sequential(
            _dense_bn_relu(self.n_input, hidden),
            _dense_bn_relu(hidden, hidden),
            nn.Linear(hidden, self.bottleneck_dim),
        )
        self.decoder = nn.Sequential(
            _dense_bn_relu(self.bottleneck_dim, hidden),
            _dense_bn_relu(hidden, hidden),
            nn.Linear(hidden, self.n_input),
        )

    def forward(self, x):
        """Reconstruct a batch of patches.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, 1, n_mels, patch_frames)
            Patches (any shape whose trailing dimensions hold
            ``n_mels * patch_frames`` values per sample is accepted).

        Returns
        -------
        reconstruction : torch.Tensor of the shape of ``x``
            Decoder output.
        p : torch.Tensor of shape (batch, bottleneck_dim)
            Bottleneck code.
        """
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.n_input:
            raise ValueError(
                f"PatchAutoencoder expects {self.n_mels}x{self.patch_frames} "
                f"patches ({self.n_input} values per sample), got input of "
                f"shape {tuple(x.shape)}."
            )
        p = self.encoder(flat)
        return self.decoder(p).reshape(x.shape), p


class FrameStackAutoencoder(nn.Module):
    """The DCASE 2020/2021 Task 2 autoencoder baseline (dense, 5 stacked frames).

    ``n_input -> 128 -> 128 -> 128 -> 128 -> 8 -> 128 -> 128 -> 128 -> 128 ->
    n_input`` with the defaults, trained on 5 consecutive 128-band log-mel
    frames (``n_input = 640``) with a mean-squared-error loss; the anomaly
    score of a clip is its mean reconstruction error.

    Matched to ``keras_model.py`` of the official DCASE 2021 baseline
    (``y-kawagu/dcase2021_task2_baseline_ae``; the 2020 baseline has the same
    model):

    - every dense layer but the output one is followed by
      ``BatchNormalization`` and ``Activation('relu')``, the 8-unit
      bottleneck included (so the code is non-negative); the output layer is
      linear;
    - Keras defaults: Glorot-uniform weights and zero biases in ``Dense``;
      ``BatchNormalization(momentum=0.99, epsilon=1e-3)``, i.e. PyTorch
      ``momentum=0.01, eps=1e-3``;
    - the number of trainable parameters equals Keras' (267,928 for 640
      inputs; Keras' "non-trainable" BatchNorm moving statistics are buffers
      here).

    Parameters
    ----------
    n_input : int, default=640
        Input size (``n_mels * n_frames`` stacked frames).
    hidden_dim : int, default=128
        Width of the hidden layers.
    bottleneck_dim : int, default=8
        Width of the bottleneck layer.
    n_hidden : int, default=4
        Hidden layers on each side of the bottleneck.
    batchnorm_momentum : float, default=0.01
        PyTorch-convention momentum of the BatchNorm running statistics (the
        Keras default 0.99 in PyTorch's convention). The baseline trains on
        ~1,800 batches per epoch; raise it (e.g. to 0.1) when training on few
        batches, or the running statistics used in eval mode stay close to
        their initial values.
    batchnorm_eps : float, default=1e-3
        BatchNorm epsilon (the Keras default).

    Attributes
    ----------
    layers : nn.Sequential
        The whole network.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.models import FrameStackAutoencoder
    >>> ae = FrameStackAutoencoder().eval()
    >>> ae(torch.zeros(4, 640)).shape
    torch.Size([4, 640])
    >>> sum(p.numel() for p in ae.parameters())
    267928
    """

    def __init__(
        self,
        n_input=640,
        *,
        hidden_dim=128,
        bottleneck_dim=8,
        n_hidden=4,
        batchnorm_momentum=0.01,
        batchnorm_eps=1e-3,
    ):
        super().__init__()
        self.n_input = n_input = _check_positive_int(n_input, "n_input")
        self.hidden_dim = hidden = _check_positive_int(hidden_dim, "hidden_dim")
        self.bottleneck_dim = _check_positive_int(bottleneck_dim, "bottleneck_dim")
        self.n_hidden = n_hidden = _check_positive_int(n_hidden, "n_hidden")
        widths = [n_input, *[hidden] * n_hidden, self.bottleneck_dim]
        widths += [*[hidden] * n_hidden]
        bn = {"momentum": batchnorm_momentum, "eps": batchnorm_eps}
        blocks = [_dense_bn_relu(a, b, **bn) for a, b in itertools.pairwise(widths)]
        self.layers = nn.Sequential(*blocks, nn.Linear(hidden, n_input))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                # Keras' glorot_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
                a = math.sqrt(6.0 / (m.in_features + m.out_features))
                nn.init.uniform_(m.weight, -a, a)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        """Reconstruct a batch of stacked-frame vectors.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_input)
            Stacked log-mel frames.

        Returns
        -------
        reconstruction : torch.Tensor of shape (batch, n_input)
        """
        return self.layers(x)
