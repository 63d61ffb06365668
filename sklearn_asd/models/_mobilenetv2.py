# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""MobileNetV2 for single-channel log-mel patches.

The layout follows torchvision's ``mobilenet_v2`` (Sandler et al., "MobileNetV2:
Inverted Residuals and Linear Bottlenecks", CVPR 2018), which is also the
architecture of the DCASE 2021 Task 2 MobileNetV2 baseline (width 0.5):

- stem: 3x3 convolution, stride 2, ``_make_divisible(32 * width, 8)`` channels;
- inverted residual blocks with settings ``(t, c, n, s)`` = ``(1, 16, 1, 1)``,
  ``(6, 24, 2, 2)``, ``(6, 32, 3, 2)``, ``(6, 64, 4, 2)``, ``(6, 96, 3, 1)``,
  ``(6, 160, 3, 2)``, ``(6, 320, 1, 1)`` (expansion, channels, repeats,
  stride of the first repeat), channels ``_make_divisible(c * width, 8)``;
- a final 1x1 convolution to ``last_channel`` channels, global average
  pooling, dropout and a linear classifier.

Every convolution is followed by BatchNorm and ReLU6 except the linear
bottleneck (the projecting 1x1 convolution of each block). Every convolution
pads by ``(kernel_size - 1) // 2``, so any input of at least one mel band and
one frame gives a feature map of at least 1x1 (the total stride is 32).

Differences from torchvision: ``in_channels`` (1 for spectrograms instead of
3 for RGB) and ``last_channel`` are parameters, and ``last_channel`` is used
as given (torchvision rounds ``1280 * max(1, width)``; for ``width <= 1`` both
give 1280).
"""

from torch import nn

from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._validation import _check_positive_int

__all__ = ["MobileNetV2"]

# t (expansion), c (output channels), n (repeats), s (stride of the first repeat)
_INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


# the input of MobileNetV2.features and MobileNetV2.forward
_X = """
Parameters
----------
x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
    Input patches.
"""


def _make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor``, losing < 10%.

    This is the channel rounding of the reference TensorFlow and torchvision
    MobileNet implementations.

    Parameters
    ----------
    value : float
        Channel count before rounding (e.g. ``c * width``).
    divisor : int, default=8
        The result is a multiple of this.
    min_value : int, default=None
        Smallest allowed result; ``divisor`` when None.

    Returns
    -------
    channels : int
        The rounded channel count.
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    # Make sure that rounding down does not remove more than 10%.
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def _conv_bn_relu6(in_channels, out_channels, kernel_size=3, stride=1, groups=1):
    """Return Conv2d (no bias, "same"-style padding) + BatchNorm2d + ReLU6."""
    padding = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class _InvertedResidual(nn.Module):
    """Inverted residual block: 1x1 expansion, 3x3 depthwise, linear 1x1.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the block's input and output.
    stride : {1, 2}
        Stride of the depthwise convolution.
    expand_ratio : int
        Hidden channels are ``round(in_channels * expand_ratio)``; no
        expansion convolution when it is 1.
    """

    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        layers = []
        if expand_ratio != 1:
            layers.append(_conv_bn_relu6(in_channels, hidden, kernel_size=1))
        layers += [
            _conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        """Apply the block (plus the identity shortcut when shapes allow)."""
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 section classifier on log-mel patches.

    Parameters
    ----------
    n_classes : int
        Number of output logits (sections). 1 is allowed (a degenerate
        classifier whose cross-entropy is always zero; the network still
        builds, runs and back-propagates).
    width : float, default=0.5
        Width multiplier applied to every channel count except
        ``last_channel`` (0.5 in the DCASE MobileNetV2 baseline).
    in_channels : int, default=1
        Input channels (1 for a log-mel spectrogram).
    last_channel : int, default=1280
        Channels of the final 1x1 convolution, i.e. the embedding size.
        torchvision uses 1280 for ``width <= 1``; tiny test models may use
        e.g. 64.
    dropout : float, default=0.2
        Dropout probability before the classifier.

    Attributes
    ----------
    embedding_dim : int
        Size of the pooled embedding (``last_channel``).
    blocks : nn.Sequential
        The convolution stack (stem, inverted residual blocks, final 1x1
        convolution); :meth:`features` applies it.
    classifier : nn.Sequential
        Dropout and the linear layer; :meth:`classify` applies it.

    Notes
    -----
    Input: ``(batch, in_channels, n_mels, n_frames)``, any spatial size of at
    least 1x1. The feature map is ``ceil(n_mels / 32) x ceil(n_frames / 32)``.
    Initialisation follows torchvision: Kaiming-normal (``fan_out``)
    convolutions, BatchNorm weight 1 and bias 0, classifier weights
    ``N(0, 0.01)`` and zero bias. In training mode BatchNorm needs more than
    one value per channel, i.e. a batch of at least 2 for a 1x1 feature map.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.models import MobileNetV2
    >>> net = MobileNetV2(n_classes=3, last_channel=64).eval()
    >>> x = torch.zeros(2, 1, 64, 32)  # (batch, channel, n_mels, n_frames)
    >>> logits, embedding = net(x)
    >>> logits.shape, embedding.shape
    (torch.Size([2, 3]), torch.Size([2, 64]))
    >>> net.features(x).shape  # total stride 32
    torch.Size([2, 64, 2, 1])
    """

    def __init__(
        self, n_classes, *, width=0.5, in_channels=1, last_channel=1280, dropout=0.2
    ):
        super().__init__()
        n_classes = _check_positive_int(n_classes, "n_classes")
        in_channels = _check_positive_int(in_channels, "in_channels")
        last_channel = _check_positive_int(last_channel, "last_channel")
        if not width > 0:
            raise ValueError(f"width must be > 0, got {width!r}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.n_classes = n_classes
        self.width = width
        self.in_channels = in_channels
        self.last_channel = last_channel
        self.embedding_dim = last_channel

        channels = _make_divisible(32 * width)
        layers = [_conv_bn_relu6(in_channels, channels, stride=2)]
        for t, c, n, s in _INVERTED_RESIDUAL_SETTING:
            out_channels = _make_divisible(c * width)
            for i in range(n):
                stride = s if i == 0 else 1
                layers.append(_InvertedResidual(channels, out_channels, stride, t))
                channels = out_channels
        layers.append(_conv_bn_relu6(channels, last_channel, kernel_size=1))
        self.blocks = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(last_channel, n_classes)
        )
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    @_substitute(x=_X)
    def features(self, x):
        """Return the convolutional feature map before pooling.

        {x}

        Returns
        -------
        fmap : torch.Tensor of shape (batch, last_channel, H', W')
            ``H' = ceil(n_mels / 32)``, ``W' = ceil(n_frames / 32)``.
        """
        return self.blocks(x)

    def classify(self, embedding):
        """Return the logits of pooled embeddings (dropout + linear layer).

        Parameters
        ----------
        embedding : torch.Tensor of shape (batch, last_channel)
            Pooled features, e.g. ``features(x).mean((2, 3))``.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_classes)
        """
        return self.classifier(embedding)

    @_substitute(x=_X)
    def forward(self, x):
        """Return the logits and the pooled embedding of a batch of patches.

        {x}

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_classes)
            Classifier output.
        embedding : torch.Tensor of shape (batch, last_channel)
            Globally average-pooled features, before dropout and classifier.
        """
        embedding = self.features(x).mean((2, 3))
        return self.classify(embedding), embedding
