"""The 3D ResNet11 of DF4LCZ's Sentinel-2 stream, and the bottleneck block shared with the 2D ResNets.

Layout (reproduces the published 3,538,961 trainable parameters at ``base_width=64``)
-------------------------------------------------------------------------------------
The chip ``(N, 32, 32, 10)`` is reshaped to ``(N, 1, 10, 32, 32)`` = (batch, channel, spectral
depth, height, width), so every 3D convolution slides across the spectrum as well as across space.

==========  =================================================================  ===================
stage       layers                                                             output (C, D, H, W)
==========  =================================================================  ===================
stem        Conv3d 1→64, 3×3×3, stride 1, padding 1, bias; BN; ReLU            (64, 10, 32, 32)
block 1     bottleneck width 64,  stride 1                                     (256, 10, 32, 32)
block 2     bottleneck width 128, stride 2                                     (512, 5, 16, 16)
block 3     bottleneck width 256, stride 2                                     (1024, 3, 8, 8)
head        global average pool over (D, H, W); Linear 1024→17                 (17,)
==========  =================================================================  ===================

Each bottleneck is ``Conv 1×1×1 (stride s) → BN → ReLU → Conv 3×3×3 (padding 1) → BN → ReLU →
Conv 1×1×1 (×4 expansion) → BN``, added to a shortcut, then ReLU. Every convolution carries a
bias. The shortcut is a projection ``Conv 1×1×1 (stride s, bias) → BN`` whenever the stride is
not 1 or the width changes — which is the case in all three blocks (64→256, 256→512, 512→1024),
so there is no identity shortcut in this network.

How the exact count pins the layout down. Parameters (weights + biases + BN γ/β):

* stem conv 1,792 + BN 128; block 1 convs 4,160 + 110,656 + 16,640, shortcut conv 16,640,
  BN (incl. shortcut) 1,280; block 2 32,896 + 442,496 + 66,048, shortcut 131,584, BN 2,560;
  block 3 131,328 + 1,769,728 + 263,168, shortcut 525,312, BN 5,120; head 17,425.
  Sum: **3,538,961**.
* Dropping the shortcut bias (−1,792) or the shortcut BN (−3,584), the stem BN (−128) or the
  BN after the expansion conv (−3,584) all miss the published number, so all of them are there.
* Strides and padding do not change the count. Where they sit follows the released Keras model:
  the stride is on the *first* 1×1×1 convolution of a block (ResNet v1), Keras
  ``padding="same"``, and an integer stride in Keras ``Conv3D`` strides *all three* axes, so the
  spectral axis is strided too: 10 → 5 → 3 (a 1×1×1 kernel with stride 2 and no padding gives
  ``ceil(n/2)``, exactly Keras ``same``). 3×3×3 convolutions use padding 1.

``base_width`` scales every width proportionally (stem and block widths ``w, 2w, 4w``), so the
embedded demo can train a much smaller network on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from ..constants import N_CLASSES, S2_BANDS

#: Expansion factor of the bottleneck blocks (output width = 4 × block width).
BOTTLENECK_EXPANSION: int = 4

#: Width of the stem and the first block in the paper.
DEFAULT_BASE_WIDTH: int = 64

#: Trainable parameters of the 3D ResNet11 at the default width, 10 bands and 17 classes.
RESNET11_3D_PARAMS: int = 3_538_961

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_BN = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class SqueezeExcitation(nn.Module):
    """Channel gating (Hu et al. 2018): global average → FC ↓ → ReLU → FC ↑ → sigmoid → scale.

    Input and output shape: ``(N, C, *spatial)``.
    """

    def __init__(self, channels: int, ratio: int, dims: int = 2) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.dims = dims
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean(dim=tuple(range(2, 2 + self.dims)))
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(squeezed))))
        return x * gate.reshape(*gate.shape, *([1] * self.dims))


class Bottleneck(nn.Module):
    """ResNet v1 bottleneck block in 2D or 3D, with biased convolutions.

    ``1×1 (stride) → BN → ReLU → 3×3 → BN → ReLU → 1×1 (×expansion) → BN [→ SE]`` plus a
    shortcut (projection ``1×1 (stride) → BN`` when ``stride != 1`` or the width changes,
    identity otherwise), then ReLU.

    Args:
        in_channels: channels of the input.
        width: channels of the two inner convolutions; the output has ``width * expansion``.
        stride: stride of the first 1×1 convolution and of the projection shortcut.
        dims: 2 (``(N, C, H, W)``) or 3 (``(N, C, D, H, W)``).
        expansion: output width factor (4 in ResNet-50-style bottlenecks).
        se_ratio: when given, a squeeze-excitation gate with this reduction ratio is applied to
            the residual branch before the addition (the SE-ResNet blocks of MSMLA).
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        dims: int = 3,
        expansion: int = BOTTLENECK_EXPANSION,
        se_ratio: int | None = None,
    ) -> None:
        super().__init__()
        if dims not in _CONV:
            raise ValueError(f"Bottleneck: dims must be 2 or 3, got {dims}")
        conv, bn = _CONV[dims], _BN[dims]
        out_channels = width * expansion
        self.conv1 = conv(in_channels, width, kernel_size=1, stride=stride, bias=True)
        self.bn1 = bn(width)
        self.conv2 = conv(width, width, kernel_size=3, padding=1, bias=True)
        self.bn2 = bn(width)
        self.conv3 = conv(width, out_channels, kernel_size=1, bias=True)
        self.bn3 = bn(out_channels)
        self.se = SqueezeExcitation(out_channels, se_ratio, dims) if se_ratio else None
        self.shortcut: nn.Module
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                conv(in_channels, out_channels, kernel_size=1, stride=stride, bias=True), bn(out_channels)
            )
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        if self.se is not None:
            y = self.se(y)
        return self.relu(y + self.shortcut(x))


class ResNet11_3D(nn.Module):
    """DF4LCZ's 3D ResNet11 for Sentinel-2 chips (layout in the module docstring).

    Args:
        n_bands: spectral bands of the chip (depth of the 3D volume), 10 in DF4LCZ.
        n_classes: output classes (17).
        base_width: stem / first-block width (64 in the paper); blocks use ``w, 2w, 4w``.

    Input ``(N, H, W, n_bands)`` float chips (channels last, as stored in the chip files);
    output ``(N, n_classes)`` logits (softmax is applied by the caller).
    """

    #: strides of the three bottleneck blocks (applied to spectral depth, height and width).
    BLOCK_STRIDES: tuple[int, ...] = (1, 2, 2)

    def __init__(
        self, n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, base_width: int = DEFAULT_BASE_WIDTH
    ) -> None:
        super().__init__()
        if base_width < 1:
            raise ValueError(f"ResNet11_3D: base_width must be a positive integer, got {base_width}")
        self.n_bands = n_bands
        self.stem = nn.Sequential(
            nn.Conv3d(1, base_width, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm3d(base_width),
            nn.ReLU(inplace=True),
        )
        blocks = []
        in_ch = base_width
        for i, stride in enumerate(self.BLOCK_STRIDES):
            block = Bottleneck(in_ch, base_width * 2**i, stride=stride, dims=3)
            blocks.append(block)
            in_ch = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_ch, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, H, W, bands)`` → logits ``(N, n_classes)``."""
        if x.ndim != 4 or x.shape[-1] != self.n_bands:
            raise ValueError(
                f"ResNet11_3D: expected chips of shape (N, H, W, {self.n_bands}), got {tuple(x.shape)}"
            )
        # (N, 1, bands, H, W) as a standard contiguous tensor (a channels-last view crashed
        # oneDNN's CPU convolutions with few channels in torch 2.15)
        v = x.permute(0, 3, 1, 2).unsqueeze(1).contiguous()
        v = self.blocks(self.stem(v))
        return self.fc(v.mean(dim=(2, 3, 4)))


def count_trainable_parameters(model: nn.Module) -> int:
    """Number of trainable (``requires_grad``) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
