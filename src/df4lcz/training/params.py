"""Checks of the training settings (the validated ``train.s2`` / ``train.gcn`` config slices).

The schema (``src/df4lcz/schemas/config.schema.yaml``) is the one home of the defaults; training
takes complete settings and never re-defaults. Callers that want the defaults ask
``df4lcz.config.schema_defaults("train")``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Settings of the Sentinel-2 models (``train.s2``), in the schema's order.
S2_PARAM_KEYS: tuple[str, ...] = (
    "epochs",
    "batch_size",
    "lr",
    "lr_decay",
    "lr_step",
    "patience",
    "augment",
    "base_width",
)

#: Settings of the GCN (``train.gcn``), in the schema's order.
GCN_PARAM_KEYS: tuple[str, ...] = (
    "epochs",
    "batch_size",
    "lr",
    "lr_decay",
    "lr_step",
    "patience",
    "hidden",
    "n_layers",
)

_INT_PARAMS = {"epochs", "batch_size", "lr_step", "patience", "base_width", "hidden", "n_layers"}


def check_params(params: Mapping[str, Any], keys: Sequence[str], what: str) -> dict[str, Any]:
    """Check that ``params`` holds exactly ``keys`` with valid values; return them in ``keys`` order.

    Args:
        params: the settings (a validated config slice, or a test's complete dict).
        keys: ``S2_PARAM_KEYS`` or ``GCN_PARAM_KEYS``.
        what: name used in error messages (e.g. ``"train_s2"``).

    Raises:
        ValueError: unknown or missing key, or a value of the wrong type / range.
    """
    params = dict(params)
    unknown = sorted(set(params) - set(keys))
    if unknown:
        raise ValueError(
            f"{what}: unknown hyper-parameter(s) {unknown}; valid keys are: {', '.join(sorted(keys))}"
        )
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(
            f"{what}: missing hyper-parameter(s) {missing}; pass the validated config slice "
            "(defaults: df4lcz.config.schema_defaults('train'))"
        )
    out = {k: params[k] for k in keys}
    for key, value in out.items():
        if key in _INT_PARAMS:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{what}: hyper-parameter '{key}' must be a positive integer, got {value!r}")
            out[key] = int(value)
        elif key == "lr":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not value > 0
                or not math.isfinite(value)
            ):
                raise ValueError(f"{what}: hyper-parameter 'lr' must be a positive number, got {value!r}")
            out[key] = float(value)
        elif key == "lr_decay":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{what}: hyper-parameter 'lr_decay' must be in (0, 1], got {value!r}")
            out[key] = float(value)
        elif key == "augment":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{what}: hyper-parameter 'augment' must be true or false, got {value!r}")
            out[key] = bool(value)
    return out
