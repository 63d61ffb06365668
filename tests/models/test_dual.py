import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_asd.models import DualBranchASD, MobileNetV2, contrastive_loss


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def _tiny(n_classes=3, **kwargs):
    torch.manual_seed(0)
    return DualBranchASD(
        n_classes,
        n_mels=8,
        patch_frames=6,
        last_channel=32,
        embedding_dim=16,
        ae_hidden_dim=12,
        ae_bottleneck_dim=5,
        **kwargs,
    )


def test_output_shapes():
    """Check the keys and shapes of the dual model's output."""
    model = _tiny()
    x = torch.randn(4, 1, 8, 6)
    out = model(x)
    assert set(out) == {"logits", "u", "p", "reconstruction"}
    assert out["logits"].shape == (4, 3)
    assert out["u"].shape == out["p"].shape == (4, 16)
    assert out["reconstruction"].shape == x.shape


def test_one_by_one_patches_and_single_class():
    """Check the degenerate 1x1 patch, one-class model trains."""
    torch.manual_seed(0)
    model = DualBranchASD(1, 1, 1, last_channel=16, embedding_dim=4)
    x = torch.randn(2, 1, 1, 1)
    out = model(x)
    assert out["logits"].shape == (2, 1)
    assert out["reconstruction"].shape == x.shape
    loss = F.mse_loss(out["reconstruction"], x) + contrastive_loss(out["u"], out["p"])
    loss.backward()
    assert torch.isfinite(loss)


def test_inference_module_alone_gives_the_same_logits():
    """Check the CNN branch alone reproduces the dual model's logits (eval)."""
    model = _tiny().eval()
    assert model.inference_module is model.cnn
    assert isinstance(model.inference_module, MobileNetV2)
    x = torch.randn(3, 1, 8, 6)
    with torch.no_grad():
        logits, _ = model.inference_module(x)
        torch.testing.assert_close(logits, model(x)["logits"])


def test_heads_and_autoencoder_exist_only_in_the_dual_model():
    """Check the parameter split: CNN + AE + two heads, CNN alone for inference."""
    model = _tiny()
    total = _n_params(model)
    parts = [model.cnn, model.ae, model.proj_cnn, model.proj_ae]
    assert total == sum(_n_params(part) for part in parts)
    assert _n_params(model.inference_module) < total
    # the CNN branch is exactly a standalone MobileNetV2 of the same settings
    assert _n_params(model.cnn) == _n_params(MobileNetV2(3, last_channel=32))
    # MLP heads: Linear(n_in, 16), ReLU, Linear(16, 16)
    assert _n_params(model.proj_cnn) == 32 * 16 + 16 + 16 * 16 + 16
    assert _n_params(model.proj_ae) == 5 * 16 + 16 + 16 * 16 + 16
    linear = _tiny(projection="linear")
    assert isinstance(linear.proj_cnn, nn.Linear)
    assert _n_params(linear.proj_ae) == 5 * 16 + 16


def test_gradients_reach_every_part():
    """Check CE + reconstruction + contrastive loss trains all parameters."""
    model = _tiny()
    x = torch.randn(4, 1, 8, 6)
    y = torch.tensor([0, 1, 2, 0])
    out = model(x)
    loss = (
        F.cross_entropy(out["logits"], y)
        + F.mse_loss(out["reconstruction"], x)
        + contrastive_loss(out["u"], out["p"])
    )
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_contrastive_loss_alone_reaches_the_cnn_and_the_encoder():
    """Check the contrastive term shapes the CNN and AE encoder, not the decoder."""
    model = _tiny()
    out = model(torch.randn(4, 1, 8, 6))
    contrastive_loss(out["u"], out["p"]).backward()
    assert model.cnn.blocks[0][0].weight.grad.abs().sum() > 0
    assert model.ae.encoder[0][0].weight.grad.abs().sum() > 0
    assert model.ae.decoder[0][0].weight.grad is None
    assert model.cnn.classifier[-1].weight.grad is None


def test_invalid_parameters_raise():
    """Check bad projection or embedding sizes raise ValueErrors."""
    with pytest.raises(ValueError, match="projection"):
        _tiny(projection="mlp3")
    with pytest.raises(ValueError, match="embedding_dim"):
        DualBranchASD(2, 4, 4, embedding_dim=0)


def test_pickle_round_trip_keeps_the_outputs():
    """Check a pickled and restored model gives identical outputs (eval)."""
    model = _tiny().eval()
    x = torch.randn(2, 1, 8, 6)
    restored = pickle.loads(pickle.dumps(model))
    with torch.no_grad():
        expected, got = model(x), restored(x)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])
