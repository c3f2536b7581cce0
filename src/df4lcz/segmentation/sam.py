"""The SAM backend: SAM architectures, checkpoint loading and :class:`SamSegmenter`.

Model types ``vit_h``/``vit_l``/``vit_b`` load the official checkpoints
(:mod:`df4lcz.segmentation.checkpoints`); ``tiny`` (config ``segment.sam.model_type: tiny``) is a
small random-weight SAM built from segment-anything's own modules for tests and CPU demos. The
workflow loads it from a checkpoint file like the official ones; :func:`build_tiny_sam_checkpoint`
writes such a file (seeded), which is how a user (or a test, or the benchmark) makes one.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_path
from ..errors import ConfigError, InputError
from .checkpoints import manual_instructions
from .protocol import check_image
from .sam_compat import cv2_available, is_empty_crop_bug, make_skimage_generator_class

if TYPE_CHECKING:  # torch is imported lazily: the classical backend does not need it
    import torch

#: SAM model types this project can build.
SAM_MODEL_TYPES: tuple[str, ...] = ("vit_h", "vit_l", "vit_b", "tiny")

#: Architecture of the ``tiny`` SAM (random weights; for tests and CPU demos only).
TINY_SAM: dict[str, Any] = {
    "img_size": 256,  # longest side the predictor resizes to (SAM proper: 1024)
    "patch_size": 16,
    "encoder_embed_dim": 64,
    "encoder_depth": 2,
    "encoder_num_heads": 2,
    "encoder_window_size": 4,
    "encoder_global_attn_indexes": (1,),
    "prompt_embed_dim": 32,  # SAM proper: 256
    "mask_in_chans": 4,
    "decoder_depth": 2,
    "decoder_mlp_dim": 64,
    "decoder_num_heads": 2,
    "iou_head_hidden_dim": 32,
}

#: SAM's pixel normalisation (ImageNet mean/std in 0–255), shared by every model type.
SAM_PIXEL_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
SAM_PIXEL_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)

#: Prompts decoded together by the generator (memory/speed trade-off only; not a config key).
POINTS_PER_BATCH: int = 64


def build_sam_architecture(model_type: str) -> torch.nn.Module:
    """A SAM of ``model_type`` with freshly initialised (untrained) weights, in eval mode.

    Raises:
        ValueError: unknown ``model_type``.
    """
    if model_type not in SAM_MODEL_TYPES:
        raise ValueError(f"SAM model_type {model_type!r} is unknown; expected one of {list(SAM_MODEL_TYPES)}")
    import torch

    if model_type != "tiny":
        from segment_anything import sam_model_registry

        return sam_model_registry[model_type](checkpoint=None)
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    c = TINY_SAM
    grid = c["img_size"] // c["patch_size"]
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=c["img_size"],
            patch_size=c["patch_size"],
            embed_dim=c["encoder_embed_dim"],
            depth=c["encoder_depth"],
            num_heads=c["encoder_num_heads"],
            mlp_ratio=4.0,
            out_chans=c["prompt_embed_dim"],
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            window_size=c["encoder_window_size"],
            global_attn_indexes=c["encoder_global_attn_indexes"],
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=c["prompt_embed_dim"],
            image_embedding_size=(grid, grid),
            input_image_size=(c["img_size"], c["img_size"]),
            mask_in_chans=c["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=c["decoder_depth"],
                embedding_dim=c["prompt_embed_dim"],
                mlp_dim=c["decoder_mlp_dim"],
                num_heads=c["decoder_num_heads"],
            ),
            transformer_dim=c["prompt_embed_dim"],
            iou_head_depth=3,
            iou_head_hidden_dim=c["iou_head_hidden_dim"],
        ),
        pixel_mean=list(SAM_PIXEL_MEAN),
        pixel_std=list(SAM_PIXEL_STD),
    )
    return sam.eval()


def build_tiny_sam(seed: int = 0) -> torch.nn.Module:
    """The ``tiny`` SAM with random weights drawn from ``seed`` (the global torch RNG is untouched)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_sam_architecture("tiny")


def build_tiny_sam_checkpoint(path: str | os.PathLike, seed: int = 0) -> Path:
    """Save the state dict of :func:`build_tiny_sam` ``(seed)`` to ``path`` (atomically).

    The file is then loaded like an official checkpoint (``SamSegmenter("tiny", path, …)``), so
    tests exercise the real loading path. Same seed → same weights.
    """
    import torch

    sam = build_tiny_sam(seed)
    with atomic_path(path) as tmp:
        torch.save(sam.state_dict(), tmp)
    return Path(path)


def describe_sam_state(state: dict[str, Any]) -> str:
    """What a SAM state dict looks like, for error messages: ``looks like vit_b (…)`` or why not.

    The model type is told by the image encoder's width (the patch embedding's output channels)
    and depth (number of transformer blocks), compared with each buildable model type's.
    """
    patch = state.get("image_encoder.patch_embed.proj.weight")
    if patch is None or getattr(patch, "ndim", 0) != 4:
        return "has no SAM image encoder (no 'image_encoder.patch_embed.proj.weight'); not a SAM checkpoint"
    width = int(patch.shape[0])
    blocks = {k.split(".")[2] for k in state if k.startswith("image_encoder.blocks.")}
    depth = len(blocks)
    known = {
        "vit_h": (1280, 32),
        "vit_l": (1024, 24),
        "vit_b": (768, 12),
        "tiny": (TINY_SAM["encoder_embed_dim"], TINY_SAM["encoder_depth"]),
    }
    facts = f"image encoder width {width}, {depth} blocks"
    for name, (w, d) in known.items():
        if (width, depth) == (w, d):
            return f"looks like {name} ({facts})"
    return f"matches no SAM model type ({facts}; vit_b has 768/12, vit_l 1024/24, vit_h 1280/32)"


def checkpoint_help(model_type: str, path: str | os.PathLike) -> str:
    """How to obtain the checkpoint of ``model_type`` at ``path`` (for error messages)."""
    if model_type == "tiny":
        return f"create it with df4lcz.segmentation.sam.build_tiny_sam_checkpoint({os.fspath(path)!r})"
    return (
        f"fetch it with df4lcz.segmentation.checkpoints.download_checkpoint({model_type!r}, "
        f"{os.fspath(path)!r}) (the workflow's sam_checkpoint rule does this), or "
        f"{manual_instructions(model_type, path)}"
    )


def sam_checkpoint_state(
    model_type: str, checkpoint: str | os.PathLike, mmap: bool = False
) -> dict[str, Any]:
    """The state dict in ``checkpoint``, checked against the SAM architecture of ``model_type``.

    The architecture is built on PyTorch's ``meta`` device (shapes only: no memory, no weights, the
    random generator untouched), so this is cheap enough to run before any job (the config check).

    Args:
        model_type: ``segment.sam.model_type``.
        checkpoint: the state-dict file.
        mmap: map the file instead of reading it (tensors are read only when used).

    Raises:
        FileNotFoundError: the checkpoint does not exist (the message says how to get it).
        ConfigError: unknown model type.
        InputError: a file that is not a PyTorch checkpoint (truncated, random bytes), or a
            checkpoint of another architecture (message names the file).
    """
    if model_type not in SAM_MODEL_TYPES:
        raise ConfigError(
            f"SAM model_type {model_type!r} is unknown; expected one of {list(SAM_MODEL_TYPES)}"
        )
    import torch

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: SAM {model_type} checkpoint not found; {checkpoint_help(model_type, path)}"
        )
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # a legacy (non-zip) file
    except Exception as exc:  # torch.load raises many types for truncated or foreign files
        raise InputError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
            "the file is "
            f"truncated or corrupted. Replace it: {checkpoint_help(model_type, path)}"
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(
            f"{path}: not a SAM state dict (got {type(state).__name__}); {checkpoint_help(model_type, path)}"
        )
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        expected = build_sam_architecture(model_type).state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shape_errors = [
        k for k, v in state.items() if k in expected and tuple(expected[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shape_errors:
        # checked before load_state_dict, which raises a multi-page RuntimeError on size mismatches
        example = (shape_errors + missing + unexpected)[0]
        raise InputError(
            f"{path}: checkpoint does not match the SAM {model_type!r} architecture of "
            f"segment.sam.model_type: the file {describe_sam_state(state)} ({len(shape_errors)} mis-shaped, "
            f"{len(missing)} missing, {len(unexpected)} unexpected tensors, e.g. {example!r}); set "
            f"segment.sam.model_type to the file's model type, or give the {model_type} checkpoint "
            f"({checkpoint_help(model_type, path)})"
        )
    return state


def load_sam(model_type: str, checkpoint: str | os.PathLike, device: str) -> torch.nn.Module:
    """Build a SAM of ``model_type`` and load ``checkpoint`` (a state dict) onto ``device``.

    Raises:
        FileNotFoundError, ConfigError, InputError: as :func:`sam_checkpoint_state`.
    """
    state = sam_checkpoint_state(model_type, checkpoint)
    sam = build_sam_architecture(model_type)
    sam.load_state_dict(state, strict=True)
    from ..devices import resolve_device

    return sam.to(resolve_device(device, key="segment.sam.device")).eval()


class SamSegmenter:
    """Automatic mask generation with segment-anything (model loaded once).

    Args:
        model_type: ``vit_h`` (DF4LCZ), ``vit_l``, ``vit_b`` or ``tiny`` (random weights, tests).
        checkpoint: state-dict file of that model type.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, …
        points_per_side … min_mask_region_area: ``SamAutomaticMaskGenerator`` settings (the
            ``segment.sam`` config slice; its defaults are DF4LCZ's).
        points_per_batch: prompts decoded together (memory/speed trade-off only).

    Raises:
        FileNotFoundError / ValueError: see :func:`load_sam`.
    """

    backend = "sam"

    def __init__(
        self,
        model_type: str,
        checkpoint: str | os.PathLike,
        device: str,
        points_per_side: int,
        pred_iou_thresh: float,
        stability_score_thresh: float,
        box_nms_thresh: float,
        crop_n_layers: int,
        crop_nms_thresh: float,
        crop_n_points_downscale_factor: int,
        min_mask_region_area: int,
        points_per_batch: int = POINTS_PER_BATCH,
    ) -> None:
        if (
            points_per_side < 1
            or crop_n_layers < 0
            or crop_n_points_downscale_factor < 1
            or min_mask_region_area < 0
        ):
            raise ValueError(
                "SAM settings out of range: points_per_side >= 1, crop_n_layers >= 0, "
                f"crop_n_points_downscale_factor >= 1, min_mask_region_area >= 0 (got {points_per_side}, "
                f"{crop_n_layers}, {crop_n_points_downscale_factor}, {min_mask_region_area})"
            )
        self.model_type = model_type
        self.checkpoint = str(checkpoint)
        self.model = load_sam(model_type, checkpoint, device)
        self.device = str(next(self.model.parameters()).device)
        self.settings: dict[str, Any] = {
            "points_per_side": int(points_per_side),
            "points_per_batch": int(points_per_batch),
            "pred_iou_thresh": float(pred_iou_thresh),
            "stability_score_thresh": float(stability_score_thresh),
            "box_nms_thresh": float(box_nms_thresh),
            "crop_n_layers": int(crop_n_layers),
            "crop_nms_thresh": float(crop_nms_thresh),
            "crop_n_points_downscale_factor": int(crop_n_points_downscale_factor),
            "min_mask_region_area": int(min_mask_region_area),
        }
        self.small_region_backend = "none"
        if min_mask_region_area > 0 and not cv2_available():
            generator_class = make_skimage_generator_class()
            self.small_region_backend = "scikit-image"
        else:
            from segment_anything import SamAutomaticMaskGenerator

            generator_class = SamAutomaticMaskGenerator

            if min_mask_region_area > 0:
                self.small_region_backend = "opencv"
        self.generator = generator_class(self.model, output_mode="binary_mask", **self.settings)

    def segment(self, image: np.ndarray) -> list[dict[str, Any]]:
        """Mask records of one ``(H, W, 3)`` uint8 RGB image (see :mod:`.protocol`); ``[]`` if none."""
        arr = check_image(image)
        try:
            anns = self.generator.generate(arr)
        except IndexError as exc:
            # segment-anything bug: with crop layers, merging crops fails when no mask survived
            if self.settings["crop_n_layers"] >= 1 and is_empty_crop_bug(exc):
                return []
            raise
        return [
            {
                "segmentation": np.asarray(a["segmentation"], dtype=bool),
                "area": int(a["area"]),
                "bbox": [int(round(v)) for v in a["bbox"]],
                "predicted_iou": float(a["predicted_iou"]),
                "stability_score": float(a["stability_score"]),
            }
            for a in anns
        ]

    def describe(self) -> dict[str, Any]:
        """Backend, model, device and generator settings."""
        return {
            "backend": self.backend,
            "model_type": self.model_type,
            "checkpoint": os.path.basename(self.checkpoint),
            "device": self.device,
            "small_region_backend": self.small_region_backend,
            **self.settings,
        }
