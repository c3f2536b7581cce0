"""Stream models of DF4LCZ: the Sentinel-2 networks (3D ResNet11 and 2D baselines) and the GCN.

``build_s2_model(name, ...)`` builds a Sentinel-2 model by its name in
``df4lcz.constants.S2_MODEL_NAMES`` (the one home of model names); every one of
them takes chips ``(N, 32, 32, 10)`` and returns logits ``(N, 17)``. The GCN is ``LCZGCN``
(``df4lcz.constants.GCN_MODEL_NAME``). Constructor defaults are the paper's architectures
(``RESNET11_3D_PARAMS``, ``LCZGCN_PARAMS`` pin them); training always passes the configured
``train.s2.base_width`` / ``train.gcn.hidden`` / ``n_layers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..constants import N_CLASSES, S2_BANDS, S2_MODEL_NAMES
from .cnn2d import CBAM, MSMLA50, DenseNet2D, ResNet2D, resnet11_2d, resnet50_2d
from .gcn import LCZGCN, LCZGCN_PARAMS, GCSConv
from .resnet3d import (
    DEFAULT_BASE_WIDTH,
    RESNET11_3D_PARAMS,
    Bottleneck,
    ResNet11_3D,
    SqueezeExcitation,
    count_trainable_parameters,
)

#: The network of every Sentinel-2 model name, in the order of ``df4lcz.constants.S2_MODEL_NAMES``
#: (``resnet11_3d``, ``resnet11_2d``, ``resnet50_2d``, ``densenet_2d``, ``msmla50``).
_S2_BUILDERS: dict[str, Callable[..., nn.Module]] = dict(
    zip(S2_MODEL_NAMES, (ResNet11_3D, resnet11_2d, resnet50_2d, DenseNet2D, MSMLA50), strict=True)
)


def build_s2_model(
    name: str, n_bands: int = len(S2_BANDS), n_classes: int = N_CLASSES, **kw: Any
) -> nn.Module:
    """Build the Sentinel-2 model called ``name`` (one of ``S2_MODEL_NAMES``).

    Args:
        name: model name, e.g. ``"resnet11_3d"``.
        n_bands: bands of the input chips (10).
        n_classes: output classes (17).
        **kw: model options; every model accepts ``base_width`` (64 = the paper's width).

    Returns:
        An untrained ``nn.Module`` mapping ``(N, H, W, n_bands)`` chips to ``(N, n_classes)`` logits.

    Raises:
        ValueError: unknown model name or option.
    """
    if name not in _S2_BUILDERS:
        raise ValueError(f"unknown Sentinel-2 model {name!r}; expected one of {', '.join(S2_MODEL_NAMES)}")
    unknown = sorted(set(kw) - {"base_width"})
    if unknown:
        raise ValueError(f"model {name!r}: unknown option(s) {unknown}; accepted options: ['base_width']")
    return _S2_BUILDERS[name](n_bands=n_bands, n_classes=n_classes, **kw)


__all__ = [
    "CBAM",
    "DEFAULT_BASE_WIDTH",
    "LCZGCN",
    "LCZGCN_PARAMS",
    "MSMLA50",
    "RESNET11_3D_PARAMS",
    "Bottleneck",
    "DenseNet2D",
    "GCSConv",
    "ResNet2D",
    "ResNet11_3D",
    "SqueezeExcitation",
    "build_s2_model",
    "count_trainable_parameters",
    "resnet11_2d",
    "resnet50_2d",
]
