import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_asd.models import FrameStackAutoencoder, PatchAutoencoder


def _linear_sizes(module):
    return [
        (m.in_features, m.out_features)
        for m in module.modules()
        if isinstance(m, nn.Linear)
    ]


@pytest.mark.parametrize("n_mels, patch_frames", [(1, 1), (3, 5), (16, 8)])
def test_patch_autoencoder_shapes(n_mels, patch_frames):
    """Check the reconstruction has the input's shape and p the code size."""
    torch.manual_seed(0)
    ae = PatchAutoencoder(n_mels, patch_frames, hidden_dim=8, bottleneck_dim=4)
    x = torch.randn(3, 1, n_mels, patch_frames)
    reconstruction, p = ae(x)
    assert reconstruction.shape == x.shape
    assert p.shape == (3, 4)


def test_patch_autoencoder_layers():
    """Check the dense encoder/decoder layout and the linear code."""
    ae = PatchAutoencoder(4, 6, hidden_dim=10, bottleneck_dim=3)
    assert _linear_sizes(ae.encoder) == [(24, 10), (10, 10), (10, 3)]
    assert _linear_sizes(ae.decoder) == [(3, 10), (10, 10), (10, 24)]
    assert isinstance(ae.encoder[-1], nn.Linear)  # no activation on the code
    assert sum(isinstance(m, nn.BatchNorm1d) for m in ae.modules()) == 4
    # p is the code and the decoder maps it back
    ae.eval()
    x = torch.randn(2, 1, 4, 6)
    reconstruction, p = ae(x)
    torch.testing.assert_close(ae.decoder(p).reshape(x.shape), reconstruction)


def test_patch_autoencoder_learns_to_reconstruct():
    """Check a few Adam steps reduce the reconstruction error markedly."""
    torch.manual_seed(0)
    basis = torch.randn(2, 48)
    x = (torch.randn(64, 2) @ basis).reshape(64, 1, 6, 8)  # rank-2 patches
    ae = PatchAutoencoder(6, 8, hidden_dim=32, bottleneck_dim=4)
    optimizer = torch.optim.Adam(ae.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.mse_loss(ae(x)[0], x)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_patch_autoencoder_rejects_wrong_patch_size():
    """Check a patch of the wrong size raises a ValueError naming the sizes."""
    ae = PatchAutoencoder(4, 6)
    with pytest.raises(ValueError, match="4x6"):
        ae(torch.zeros(2, 1, 4, 5))
    with pytest.raises(ValueError, match="n_mels"):
        PatchAutoencoder(0, 6)


def test_frame_stack_autoencoder_matches_dcase_baseline():
    """Check the layer sizes, BN+ReLU placement and parameter count.

    The Keras baseline (keras_model.py of the DCASE 2021 AE baseline) reports
    267,928 trainable parameters for 640 inputs.
    """
    ae = FrameStackAutoencoder()
    sizes = _linear_sizes(ae)
    widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    assert sizes == list(itertools.pairwise(widths))
    assert sum(p.numel() for p in ae.parameters()) == 267_928
    bns = [m for m in ae.modules() if isinstance(m, nn.BatchNorm1d)]
    assert [bn.num_features for bn in bns] == widths[1:-1]
    assert all(bn.momentum == 0.01 and bn.eps == 1e-3 for bn in bns)
    assert sum(isinstance(m, nn.ReLU) for m in ae.modules()) == 9
    assert isinstance(ae.layers[-1], nn.Linear)  # linear output
    for m in ae.modules():
        if isinstance(m, nn.Linear):  # Glorot-uniform bound
            bound = (6 / (m.in_features + m.out_features)) ** 0.5
            assert m.weight.abs().max() <= bound
            assert torch.all(m.bias == 0)


def test_frame_stack_autoencoder_forward_and_options():
    """Check forward shapes, custom sizes and the bottleneck code is ReLU'd."""
    torch.manual_seed(0)
    ae = FrameStackAutoencoder(20, hidden_dim=6, bottleneck_dim=2, n_hidden=2)
    assert _linear_sizes(ae) == [(20, 6), (6, 6), (6, 2), (2, 6), (6, 6), (6, 20)]
    x = torch.randn(5, 20)
    assert ae(x).shape == (5, 20)
    code = ae.layers[:3](x)  # output of the bottleneck block
    assert code.shape == (5, 2) and torch.all(code >= 0)
    ae(x).pow(2).mean().backward()
    assert all(p.grad is not None for p in ae.parameters())
