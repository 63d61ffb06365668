# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The dual-branch model of the seed system: MobileNetV2 + autoencoder.

Both branches see the same log-mel patch. The MobileNetV2 branch classifies
its section; the autoencoder branch reconstructs it. Two projection heads map
the CNN embedding (``u``) and the autoencoder code (``p``) to a common size
for the contrastive loss (:func:`~sklearn_asd.models.contrastive_loss`).
Training minimises ``CE(logits, section) + alpha * MSE(reconstruction, x) +
lambda * L_con(u, p)``; inference uses the CNN branch alone
(:attr:`DualBranchASD.inference_module`), so the autoencoder and the heads
add no parameters at inference.
"""

from torch import nn

from sklearn_asd.models._autoencoder import PatchAutoencoder
from sklearn_asd.models._mobilenetv2 import MobileNetV2
from sklearn_asd.utils._validation import _check_positive_int

__all__ = ["DualBranchASD"]

_PROJECTIONS = ("mlp", "linear")


def _projection_head(n_in, n_out, kind):
    """Return ``Linear-ReLU-Linear`` (hidden width ``n_out``) or one Linear."""
    if kind == "linear":
        return nn.Linear(n_in, n_out)
    return nn.Sequential(
        nn.Linear(n_in, n_out), nn.ReLU(inplace=True), nn.Linear(n_out, n_out)
    )


class DualBranchASD(nn.Module):
    """MobileNetV2 classifier and patch autoencoder with projection heads.

    Parameters
    ----------
    n_classes : int
        Number of sections (classifier outputs); 1 is allowed.
    n_mels : int
        Mel bands of a patch.
    patch_frames : int
        Frames of a patch.
    width : float, default=0.5
        MobileNetV2 width multiplier.
    last_channel : int, default=1280
        MobileNetV2 embedding size.
    embedding_dim : int, default=128
        Common size of the projected embeddings ``u`` and ``p``.
    ae_hidden_dim : int, default=256
        Hidden width of the autoencoder.
    ae_bottleneck_dim : int, default=64
        Size of the autoencoder code.
    dropout : float, default=0.2
        MobileNetV2 dropout before the classifier.
    projection : {"mlp", "linear"}, default="mlp"
        Projection heads. ``"mlp"``: ``Linear(n_in, embedding_dim)``, ReLU,
        ``Linear(embedding_dim, embedding_dim)``, the non-linear head of
        SimCLR (Chen et al., 2020), who found that a non-linear head improves
        the representation *before* it, because the head, not the embedding,
        absorbs the invariances the contrastive loss imposes. Here it also
        lets the CNN embedding keep the section information that the
        autoencoder code lacks. The hidden width is ``embedding_dim`` rather
        than SimCLR's ``n_in`` to keep the heads small (0.21 M parameters
        for both heads with the defaults). ``"linear"``: a single ``Linear``
        per branch. The seed system does not say which it used.

    Attributes
    ----------
    cnn : MobileNetV2
        The classification branch, the only part used at inference.
    ae : PatchAutoencoder
        The reconstruction branch.
    proj_cnn : nn.Module
        Head mapping the CNN embedding (``last_channel``) to ``embedding_dim``.
    proj_ae : nn.Module
        Head mapping the autoencoder code (``ae_bottleneck_dim``) to
        ``embedding_dim``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.models import DualBranchASD
    >>> model = DualBranchASD(3, n_mels=16, patch_frames=8, last_channel=64).eval()
    >>> out = model(torch.zeros(2, 1, 16, 8))
    >>> {key: tuple(value.shape) for key, value in out.items()}
    {'logits': (2, 3), 'u': (2, 128), 'p': (2, 128), 'reconstruction': (2, 1, 16, 8)}
    >>> model.inference_module is model.cnn
    True
    """

    def __init__(
        self,
        n_classes,
        n_mels,
        patch_frames,
        *,
        width=0.5,
        last_channel=1280,
        embedding_dim=128,
        ae_hidden_dim=256,
        ae_bottleneck_dim=64,
        dropout=0.2,
        projection="mlp",
    ):
        super().__init__()
        if projection not in _PROJECTIONS:
            raise ValueError(
                f"projection must be one of {_PROJECTIONS}, got {projection!r}."
            )
        embedding_dim = _check_positive_int(embedding_dim, "embedding_dim")
        self.cnn = MobileNetV2(
            n_classes, width=width, last_channel=last_channel, dropout=dropout
        )
        self.ae = PatchAutoencoder(
            n_mels,
            patch_frames,
            hidden_dim=ae_hidden_dim,
            bottleneck_dim=ae_bottleneck_dim,
        )
        self.embedding_dim = embedding_dim
        self.proj_cnn = _projection_head(
            self.cnn.embedding_dim, embedding_dim, projection
        )
        self.proj_ae = _projection_head(
            self.ae.bottleneck_dim, embedding_dim, projection
        )

    @property
    def inference_module(self):
        """The CNN branch: ``inference_module(x)`` returns ``(logits, embedding)``."""
        return self.cnn

    def forward(self, x):
        """Run both branches and both projection heads.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, 1, n_mels, patch_frames)
            Log-mel patches.

        Returns
        -------
        out : dict of torch.Tensor
            ``"logits"`` ``(batch, n_classes)``: CNN classifier output;
            ``"u"`` ``(batch, embedding_dim)``: projected CNN embedding;
            ``"p"`` ``(batch, embedding_dim)``: projected autoencoder code;
            ``"reconstruction"``: autoencoder output, shape of ``x``.
            ``u`` and ``p`` are not normalised
            (:func:`~sklearn_asd.models.contrastive_loss` normalises them).
        """
        logits, embedding = self.cnn(x)
        reconstruction, code = self.ae(x)
        return {
            "logits": logits,
            "u": self.proj_cnn(embedding),
            "p": self.proj_ae(code),
            "reconstruction": reconstruction,
        }
