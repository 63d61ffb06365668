import math

import pytest
import torch
from torch import nn

from sklearn_asd.models import MobileNetV2
from sklearn_asd.models._mobilenetv2 import _make_divisible


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "shape, fmap", [((1, 1), (1, 1)), ((3, 5), (1, 1)), ((128, 64), (4, 2))]
)
def test_output_shapes_for_any_input_size(shape, fmap):
    """Check forward, features and classify shapes for tiny and full patches."""
    torch.manual_seed(0)
    net = MobileNetV2(3, last_channel=32)
    x = torch.randn(2, 1, *shape)
    logits, embedding = net(x)
    assert logits.shape == (2, 3)
    assert embedding.shape == (2, 32)
    assert net.features(x).shape == (2, 32, *fmap)
    assert net.embedding_dim == 32
    assert torch.isfinite(logits).all()


def test_classify_of_pooled_features_equals_forward_in_eval_mode():
    """Check classify(features(x).mean((2, 3))) is forward(x)'s logits (eval)."""
    torch.manual_seed(0)
    net = MobileNetV2(4, last_channel=32, dropout=0.5).eval()
    x = torch.randn(3, 1, 40, 24)
    with torch.no_grad():
        logits, embedding = net(x)
        pooled = net.features(x).mean((2, 3))
        torch.testing.assert_close(embedding, pooled)
        torch.testing.assert_close(net.classify(pooled), logits)
        # eval mode is deterministic: dropout is off
        torch.testing.assert_close(net(x)[0], logits)


def test_dropout_is_applied_in_train_mode_only_after_the_embedding():
    """Check dropout changes the logits in train mode but not the embedding."""
    torch.manual_seed(0)
    net = MobileNetV2(4, last_channel=32, dropout=0.5)
    embedding = torch.randn(8, 32)
    net.train()
    assert not torch.equal(net.classify(embedding), net.classify(embedding))
    net.eval()
    torch.testing.assert_close(net.classify(embedding), net.classify(embedding))


def test_architecture_matches_torchvision():
    """Check parameter count and channel layout against torchvision's model.

    torchvision's ``mobilenet_v2()`` (width 1, 1000 classes, RGB) has
    3,504,872 parameters.
    """
    net = MobileNetV2(1000, width=1.0, in_channels=3, last_channel=1280)
    assert _n_params(net) == 3_504_872
    half = MobileNetV2(2)
    stem = half.blocks[0][0]
    assert (stem.in_channels, stem.out_channels) == (1, 16)
    assert (stem.kernel_size, stem.stride, stem.padding) == ((3, 3), (2, 2), (1, 1))
    block_out = [block.conv[-1].num_features for block in half.blocks[1:-1]]
    expected = [8] + [16] * 2 + [16] * 3 + [32] * 4 + [48] * 3 + [80] * 3 + [160]
    assert block_out == expected
    assert half.blocks[-1][0].out_channels == 1280
    assert sum(isinstance(m, nn.ReLU6) for m in half.modules()) == 2 + 1 + 2 * 16
    # stride 32 in total
    assert half.features(torch.zeros(2, 1, 64, 96)).shape[2:] == (2, 3)


def test_make_divisible_matches_reference_rounding():
    """Check the channel rounding of the reference implementation."""
    assert _make_divisible(16) == 16
    assert _make_divisible(12) == 16  # 24 * 0.5
    assert _make_divisible(4) == 8  # never below the divisor
    assert _make_divisible(19.9) == 24  # 16 would lose more than 10%
    assert _make_divisible(27.2) == 32  # rounds to the nearest multiple


def test_kaiming_initialisation_like_torchvision():
    """Check conv, BatchNorm and classifier initialisation."""
    torch.manual_seed(0)
    net = MobileNetV2(10, width=1.0)
    conv = net.blocks[-1][0]  # 1x1, 320 -> 1280: fan_out = 1280
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / 1280), rel=0.05)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    linear = net.classifier[-1]
    assert linear.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(linear.bias == 0)


def test_single_class_network_trains():
    """Check n_classes=1 builds, runs and back-propagates."""
    torch.manual_seed(0)
    net = MobileNetV2(1, last_channel=16)
    logits, _ = net(torch.randn(2, 1, 8, 8))
    assert logits.shape == (2, 1)
    logits.sum().backward()
    assert net.blocks[0][0].weight.grad.abs().sum() > 0


def test_residual_connections_where_shapes_match():
    """Check blocks with stride 1 and equal channels use the identity shortcut."""
    net = MobileNetV2(2)
    flags = [block.use_residual for block in net.blocks[1:-1]]
    # repeats after the first of each stage are residual: 0+1+2+3+2+2+0
    assert sum(flags) == 10
    assert not flags[0]


def test_accepts_numpy_integers_and_rejects_bad_parameters():
    """Check parameter validation raises clear ValueErrors."""
    import numpy as np

    assert MobileNetV2(np.int64(3), last_channel=16).n_classes == 3
    for kwargs, match in [
        ({"n_classes": 0}, "n_classes"),
        ({"n_classes": 2.0}, "n_classes"),
        ({"n_classes": 2, "width": 0}, "width"),
        ({"n_classes": 2, "dropout": 1.0}, "dropout"),
        ({"n_classes": 2, "last_channel": 0}, "last_channel"),
    ]:
        with pytest.raises(ValueError, match=match):
            MobileNetV2(**kwargs)
