"""2D convolutional baselines of the DF4LCZ comparison (Sentinel-2 chips, bands as channels).

All models take chips ``(N, H, W, bands)`` (channels last, as stored in the chip files) and
return logits ``(N, n_classes)``. Every model has a ``base_width`` argument; 64 gives the
paper's network, smaller values shrink all widths proportionally (for the CPU demo).

* ``ResNet2D`` — bottleneck ResNet v1 with biased convolutions and the stride on the first 1×1
  convolution of a stage (as Keras ``ResNet50`` and the released ResNet11):

  - ``resnet11_2d``: stem Conv 3×3 (64) + BN + ReLU, three bottlenecks of width 64/128/256 with
    stride 2 each (32 → 16 → 8 → 4 px), projection shortcuts, global average pool, Linear 17.
  - ``resnet50_2d``: the ImageNet ResNet-50 trained from scratch on 10 bands: stem Conv 7×7 s2 +
    BN + ReLU + MaxPool 3×3 s2, stages of [3, 4, 6, 3] bottlenecks of width 64/128/256/512 with
    strides 1/2/2/2, global average pool, Linear 17 (written here instead of torchvision so
    ``base_width`` and Keras-style conv biases are available; same topology).

* ``DenseNet2D`` (``densenet_2d``): stem Conv 3×3 (64) + BN + ReLU; three dense blocks of 7
  layers (BN → ReLU → Conv 1×1 (4·growth) → Conv 3×3 (growth), concatenated; growth 12), the
  first two followed by a transition (BN → ReLU → Conv 1×1 to 32 filters → AvgPool 2); global
  average pool; Linear 17. As in the released comparison model, the dense layers have no BN/ReLU
  between their two convolutions and the last block feeds the pool directly.

* ``MSMLA50`` (``msmla50``): a compact re-implementation of Kim et al. (2021) "Multi-scale
  multi-level attention" for LCZ (depth ``[16, 32, 48]``):

  - multi-scale input layer: parallel Conv 5×5 (16), 3×3 (32), 1×1 (16), concatenated (64);
  - backbone of SE-ResNet bottlenecks, [3, 4, 6] blocks of width ``depth[i]`` (output
    ``4·depth[i]``), strides 1/2/2;
  - multi-level attention branches: a CBAM module on the multi-scale features and on the output
    of the first block of every stage, each globally average-pooled (branches only; they do not
    feed back into the backbone);
  - the pooled backbone output and the four pooled branches are concatenated
    (192 + 64 + 64 + 128 + 192 = 640 features at the default width) → Linear 17.

  Not confirmed from the paper, chosen here and documented: the SE reduction ratio (16), the CBAM
  channel reduction ratio (8) and spatial kernel (7×7, Woo et al. 2018 defaults), no activation
  after the multi-scale concatenation, and default PyTorch initialisation (the original uses
  He-normal for the multi-scale and output layers).
"""

from __future__ import annotations

import torch
from torch import nn

from ..constants import N_CLASSES, S2_BANDS
from .resnet3d import DEFAULT_BASE_WIDTH, Bottleneck

#: DenseNet growth rate, layers per dense block and transition width at ``base_width=64``.
DENSENET_GROWTH: int = 12
DENSENET_LAYERS: int = 7
DENSENET_BLOCKS: int = 3
DENSENET_TRANSITION: int = 32

#: MSMLA-50 backbone depths ``[d, 2d, 3d]`` with d = 16 at ``base_width=64``.
MSMLA_DEPTH: tuple[int, int, int] = (16, 32, 48)
#: Blocks per MSMLA stage, and stage strides.
MSMLA_BLOCKS: tuple[int, int, int] = (3, 4, 6)
MSMLA_STRIDES: tuple[int, int, int] = (1, 2, 2)
#: Widths of the 5×5, 3×3 and 1×1 multi-scale convolutions at ``base_width=64``.
MSMLA_MULTISCALE: tuple[int, int, int] = (16, 32, 16)
#: Unconfirmed attention hyper-parameters (see module docstring).
MSMLA_SE_RATIO: int = 16
CBAM_RATIO: int = 8
CBAM_KERNEL: int = 7


def _scaled(value: int, base_width: int) -> int:
    """``value`` (defined at width 64) scaled to ``base_width``, at least 1."""
    return max(1, round(value * base_width / DEFAULT_BASE_WIDTH))


def _check_base_width(name: str, base_width: int) -> None:
    if not isinstance(base_width, int) or base_width < 1:
        raise ValueError(f"{name}: base_width must be a positive integer, got {base_width!r}")


class _ChannelsLastModel(nn.Module):
    """Base: validates ``(N, H, W, bands)`` input and hands ``(N, bands, H, W)`` to ``features``."""

    n_bands: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, H, W, bands)`` → logits ``(N, n_classes)``."""
        if x.ndim != 4 or x.shape[-1] != self.n_bands:
            raise ValueError(
                f"{type(self).__name__}: expected chips of shape (N, H, W, {self.n_bands}), got {tuple(x.shape)}"
            )
        # .contiguous(): oneDNN CPU convolutions on a channels-last *view* with few channels
        # corrupted memory (segfaults) in torch 2.15; a standard NCHW copy avoids it.
        return self.head(self.features(x.permute(0, 3, 1, 2).contiguous()))

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    head: nn.Module


class ResNet2D(_ChannelsLastModel):
    """Bottleneck ResNet v1 on 2D chips (see module docstring for the two presets).

    Args:
        n_bands: input channels (10 Sentinel-2 bands).
        n_classes: output classes.
        stage_blocks: bottleneck blocks per stage, e.g. ``(1, 1, 1)`` or ``(3, 4, 6, 3)``.
        stage_strides: stride of the first block of each stage.
        base_width: width of the stem and of the first stage (stage i has ``base_width · 2**i``).
        imagenet_stem: 7×7/2 convolution + 3×3/2 max-pool stem (ResNet-50) instead of a 3×3/1 one.
    """

    def __init__(
        self,
        n_bands: int = len(S2_BANDS),
        n_classes: int = N_CLASSES,
        stage_blocks: tuple[int, ...] = (1, 1, 1),
        stage_strides: tuple[int, ...] = (2, 2, 2),
        base_width: int = DEFAULT_BASE_WIDTH,
        imagenet_stem: bool = False,
    ) -> None:
        super().__init__()
        _check_base_width("ResNet2D", base_width)
        if len(stage_blocks) != len(stage_strides):
            raise ValueError(
                f"ResNet2D: stage_blocks {stage_blocks} and stage_strides {stage_strides} differ in length"
            )
        self.n_bands = n_bands
        if imagenet_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(n_bands, base_width, kernel_size=7, stride=2, padding=3, bias=True),
                nn.BatchNorm2d(base_width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(n_bands, base_width, kernel_size=3, padding=1, bias=True),
                nn.BatchNorm2d(base_width),
                nn.ReLU(inplace=True),
            )
        layers: list[nn.Module] = []
        in_ch = base_width
        for i, (n_blocks, stride) in enumerate(zip(stage_blocks, stage_strides)):
            for j in range(n_blocks):
                block = Bottleneck(in_ch, base_width * 2**i, stride=stride if j == 0 else 1, dims=2)
                layers.append(block)
                in_ch = block.out_channels
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(in_ch, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))


def resnet11_2d(
    n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, base_width: int = DEFAULT_BASE_WIDTH
) -> ResNet2D:
    """2D ResNet11 of the paper's comparison: 3 bottlenecks, strides 2/2/2, 3×3 stem."""
    return ResNet2D(n_bands, n_classes, (1, 1, 1), (2, 2, 2), base_width, imagenet_stem=False)


def resnet50_2d(
    n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, base_width: int = DEFAULT_BASE_WIDTH
) -> ResNet2D:
    """ResNet-50 from scratch on ``n_bands`` channels: [3, 4, 6, 3] bottlenecks, ImageNet stem."""
    return ResNet2D(n_bands, n_classes, (3, 4, 6, 3), (1, 2, 2, 2), base_width, imagenet_stem=True)


class _DenseLayer(nn.Module):
    """BN → ReLU → Conv 1×1 (4·growth) → Conv 3×3 (growth); output concatenated to the input."""

    def __init__(self, in_channels: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, 4 * growth, kernel_size=1, bias=True),
            nn.Conv2d(4 * growth, growth, kernel_size=3, padding=1, bias=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class DenseNet2D(_ChannelsLastModel):
    """DenseNet of the paper's comparison (3 dense blocks × 7 layers, growth 12, transitions → 32).

    Args:
        n_bands, n_classes: input channels and output classes.
        base_width: 64 for the paper's network; the stem (64), growth (12) and transition width
            (32) are scaled by ``base_width / 64``.
    """

    def __init__(
        self, n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, base_width: int = DEFAULT_BASE_WIDTH
    ) -> None:
        super().__init__()
        _check_base_width("DenseNet2D", base_width)
        self.n_bands = n_bands
        growth = _scaled(DENSENET_GROWTH, base_width)
        transition = _scaled(DENSENET_TRANSITION, base_width)
        layers: list[nn.Module] = [
            nn.Conv2d(n_bands, base_width, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm2d(base_width),
            nn.ReLU(inplace=True),
        ]
        ch = base_width
        for b in range(DENSENET_BLOCKS):
            for _ in range(DENSENET_LAYERS):
                layers.append(_DenseLayer(ch, growth))
                ch += growth
            if b < DENSENET_BLOCKS - 1:
                layers += [
                    nn.BatchNorm2d(ch),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(ch, transition, kernel_size=1, bias=True),
                    nn.AvgPool2d(kernel_size=2, stride=2),
                ]
                ch = transition
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(ch, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


class CBAM(nn.Module):
    """Convolutional block attention (Woo et al. 2018): channel then spatial gating.

    Channel: shared MLP (C → C/ratio → C) on the spatial average and max, summed, sigmoid.
    Spatial: Conv k×k over [channel mean, channel max], sigmoid. Shape kept: ``(N, C, H, W)``.
    """

    def __init__(self, channels: int, ratio: int = CBAM_RATIO, kernel_size: int = CBAM_KERNEL) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size=kernel_size, padding=kernel_size // 2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3))))
        x = x * gate[:, :, None, None]
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class MSMLA50(_ChannelsLastModel):
    """Compact MSMLA-50 (Kim et al. 2021); structure and unconfirmed choices in the module docstring.

    Args:
        n_bands, n_classes: input channels and output classes.
        base_width: 64 for the paper's network (depth ``[16, 32, 48]``, multi-scale 16/32/16);
            all widths scale with ``base_width / 64``.
    """

    def __init__(
        self, n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, base_width: int = DEFAULT_BASE_WIDTH
    ) -> None:
        super().__init__()
        _check_base_width("MSMLA50", base_width)
        self.n_bands = n_bands
        w5, w3, w1 = (_scaled(w, base_width) for w in MSMLA_MULTISCALE)
        self.ms5 = nn.Conv2d(n_bands, w5, kernel_size=5, padding=2, bias=True)
        self.ms3 = nn.Conv2d(n_bands, w3, kernel_size=3, padding=1, bias=True)
        self.ms1 = nn.Conv2d(n_bands, w1, kernel_size=1, bias=True)
        ch = w5 + w3 + w1
        self.cbam_in = CBAM(ch)
        self.stage_heads = nn.ModuleList()
        self.stage_rests = nn.ModuleList()
        self.stage_cbams = nn.ModuleList()
        n_features = ch
        for depth, n_blocks, stride in zip(MSMLA_DEPTH, MSMLA_BLOCKS, MSMLA_STRIDES):
            width = _scaled(depth, base_width)
            first = Bottleneck(ch, width, stride=stride, dims=2, se_ratio=MSMLA_SE_RATIO)
            ch = first.out_channels
            rest = [
                Bottleneck(ch, width, stride=1, dims=2, se_ratio=MSMLA_SE_RATIO) for _ in range(n_blocks - 1)
            ]
            self.stage_heads.append(first)
            self.stage_rests.append(nn.Sequential(*rest))
            self.stage_cbams.append(CBAM(ch))
            n_features += ch
        n_features += ch  # pooled backbone output
        self.head = nn.Linear(n_features, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.ms5(x), self.ms3(x), self.ms1(x)], dim=1)
        pooled = [self.cbam_in(x).mean(dim=(2, 3))]
        for first, rest, cbam in zip(self.stage_heads, self.stage_rests, self.stage_cbams):
            x = first(x)
            pooled.append(cbam(x).mean(dim=(2, 3)))
            x = rest(x)
        return torch.cat([x.mean(dim=(2, 3)), *pooled], dim=1)
