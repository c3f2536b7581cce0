"""Instance segmentation of Google chips: SAM automatic masks or classical regions, one format.

Record format (both backends)
-----------------------------
A segmenter returns, per image, a list of dicts shaped like segment-anything's records:

* ``segmentation`` — bool ``(H, W)`` mask;
* ``area`` — int, pixels in the mask;
* ``bbox`` — ``[x, y, w, h]`` ints in SAM's convention: ``x, y`` = first column/row of the mask,
  ``w = x_max - x``, ``h = y_max - y`` with inclusive maxima (a one-pixel mask has ``w = h = 0``);
* ``predicted_iou``, ``stability_score`` — floats from SAM; ``NaN`` for the classical backend,
  which has no notion of mask quality.

Backends
--------
* :class:`SamSegmenter` wraps ``segment_anything.SamAutomaticMaskGenerator`` (the paper's
  method; DF4LCZ's settings are the defaults). Model types ``vit_h``/``vit_l``/``vit_b`` load the
  official checkpoints; ``tiny`` is a small random-weight SAM built from segment-anything's own
  modules for tests and demos (:func:`build_tiny_sam_checkpoint`).
* :class:`ClassicalSegmenter` uses scikit-image (Felzenszwalb or SLIC) for CPU-only demo runs.

Small-region post-processing without OpenCV
-------------------------------------------
``min_mask_region_area > 0`` makes segment-anything remove small holes and islands from each mask
with OpenCV (``cv2.connectedComponentsWithStats``, 8-connectivity) and then re-run box NMS,
preferring masks that did not change. When ``cv2`` cannot be imported, :class:`SamSegmenter`
runs the same step with scikit-image instead (:func:`remove_small_regions`, using
``skimage.measure.label`` with 8-connectivity): holes (connected background components, including
one touching the border) with fewer than ``min_mask_region_area`` pixels are filled, islands
with fewer pixels are removed (keeping the largest island when all are small), boxes are
recomputed and NMS re-run with score 1 for unchanged and 0 for changed masks, at the same place
in the pipeline (before RLE decoding). The result is therefore the one OpenCV would give.

Label maps (the masks file)
---------------------------
:func:`postprocess_masks` sorts records by area (largest first, stable), drops those with
``area < min_area`` and keeps at most ``max_masks``. :func:`segment_images` paints the kept masks
into one instance label map per image in that order, so **where masks overlap, the smaller mask
wins** (it is painted later, over the larger one; small objects such as roofs stay visible on top
of large background masks). Masks left with no visible pixel are dropped and labels renumbered,
so label ``k`` (1-based) is the ``k``-th kept mask and every label 1..K occurs; 0 = background.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .atomic import atomic_path
from .constants import LCZ_SHORT
from .io.hdf5 import read_h5, write_h5
from .logs import get_logger, progress
from .sam_checkpoints import SAM_CHECKPOINTS, manual_instructions

if TYPE_CHECKING:  # torch is imported lazily: the classical backend does not need it
    import torch

log = get_logger(__name__)

#: Keys of a mask record (both backends).
RECORD_KEYS: tuple[str, ...] = ("segmentation", "area", "bbox", "predicted_iou", "stability_score")

#: SAM model types this project can build.
SAM_MODEL_TYPES: tuple[str, ...] = ("vit_h", "vit_l", "vit_b", "tiny")

#: DF4LCZ's SamAutomaticMaskGenerator settings (DESIGN.md §4).
SAM_DEFAULTS: dict[str, Any] = {
    "points_per_side": 12,
    "pred_iou_thresh": 0.88,
    "stability_score_thresh": 0.92,
    "box_nms_thresh": 0.4,
    "crop_n_layers": 1,
    "crop_nms_thresh": 0.4,
    "crop_n_points_downscale_factor": 2,
    "min_mask_region_area": 100,
}

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

#: File name the workflow may use for the ``tiny`` checkpoint (made by build_tiny_sam_checkpoint, seed 0).
TINY_CHECKPOINT_FILENAME: str = "sam_tiny_seed0.pth"

#: SAM's pixel normalisation (ImageNet mean/std in 0–255), shared by every model type.
SAM_PIXEL_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
SAM_PIXEL_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)

#: scikit-image methods of the classical backend.
CLASSICAL_METHODS: tuple[str, ...] = ("felzenszwalb", "slic")

#: Overlap rule recorded in the masks file.
OVERLAP_RULE: str = "masks painted largest first; where masks overlap the smaller mask wins"


class Segmenter(Protocol):
    """What :func:`segment_images` needs from a backend."""

    backend: str

    def segment(self, image: np.ndarray) -> list[dict[str, Any]]:
        """Mask records of one ``(H, W, 3)`` uint8 image."""
        ...

    def describe(self) -> dict[str, Any]:
        """Backend name and parameters (stored as attrs of the masks file)."""
        ...


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {arr.dtype} {arr.shape}")
    return arr


def mask_bbox_xywh(mask: np.ndarray) -> list[int]:
    """SAM-style ``[x, y, w, h]`` of a bool ``(H, W)`` mask (inclusive maxima; empty → zeros)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0]), int(rows[-1] - rows[0])]


# --------------------------------------------------------------------------------------------
# SAM models and checkpoints
# --------------------------------------------------------------------------------------------




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

    The file is then loaded like an official checkpoint (``SamSegmenter("tiny", path)``), so tests
    exercise the real loading path. Same seed → same weights.
    """
    import torch

    sam = build_tiny_sam(seed)
    with atomic_path(path) as tmp:
        torch.save(sam.state_dict(), tmp)
    return Path(path)


def checkpoint_help(model_type: str, path: str | os.PathLike) -> str:
    """How to obtain the checkpoint of ``model_type`` at ``path`` (for error messages)."""
    if model_type == "tiny":
        return f"create it with df4lcz.segmentation.build_tiny_sam_checkpoint({os.fspath(path)!r})"
    return (
        f"fetch it with df4lcz.sam_checkpoints.download_checkpoint({model_type!r}, {os.fspath(path)!r}) "
        f"(the workflow's sam_checkpoint rule does this), or {manual_instructions(model_type, path)}"
    )


def load_sam(model_type: str, checkpoint: str | os.PathLike, device: str = "auto") -> torch.nn.Module:
    """Build a SAM of ``model_type`` and load ``checkpoint`` (a state dict) onto ``device``.

    Raises:
        FileNotFoundError: the checkpoint does not exist (the message says how to get it).
        ValueError: unknown model type, a file that is not a PyTorch checkpoint (truncated, random
            bytes), or a checkpoint of another architecture (message names the file).
    """
    if model_type not in SAM_MODEL_TYPES:
        raise ValueError(f"SAM model_type {model_type!r} is unknown; expected one of {list(SAM_MODEL_TYPES)}")
    import torch

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: SAM {model_type} checkpoint not found; {checkpoint_help(model_type, path)}"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for unreadable files
        raise ValueError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
            "the file is "
            f"truncated or corrupted. Replace it: {checkpoint_help(model_type, path)}"
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{path}: not a SAM state dict (got {type(state).__name__}); {checkpoint_help(model_type, path)}"
        )
    sam = build_sam_architecture(model_type)
    result = sam.load_state_dict(state, strict=False)
    expected = sam.state_dict()
    shape_errors = [
        k for k, v in state.items() if k in expected and tuple(expected[k].shape) != tuple(v.shape)
    ]
    if result.missing_keys or result.unexpected_keys or shape_errors:
        raise ValueError(
            f"{path}: checkpoint does not match the SAM {model_type!r} architecture "
            f"({len(result.missing_keys)} missing, {len(result.unexpected_keys)} unexpected, "
            f"{len(shape_errors)} mis-shaped tensors, "
            f"e.g. {(result.missing_keys + result.unexpected_keys + shape_errors)[:3]}); "
            f"is model_type right? Expected file: {checkpoint_help(model_type, path)}"
        )
    from .devices import resolve_device

    return sam.to(resolve_device(device)).eval()


# --------------------------------------------------------------------------------------------
# Small-region removal without OpenCV
# --------------------------------------------------------------------------------------------


def cv2_available() -> bool:
    """Whether OpenCV (``cv2``) can be imported (segment-anything's own post-processing needs it)."""
    return importlib.util.find_spec("cv2") is not None


def remove_small_regions(mask: np.ndarray, area_thresh: float, mode: str) -> tuple[np.ndarray, bool]:
    """Fill small holes or remove small islands of a bool ``(H, W)`` mask (8-connectivity).

    The scikit-image counterpart of ``segment_anything.utils.amg.remove_small_regions``:
    ``mode="holes"`` fills background components with fewer than ``area_thresh`` pixels (a
    component touching the border counts too); ``mode="islands"`` removes foreground components
    with fewer than ``area_thresh`` pixels, keeping the largest one when all are that small.

    Returns:
        The new mask and whether anything changed.
    """
    from skimage.measure import label

    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    target = ~mask if mode == "holes" else mask
    components, n = label(target, connectivity=2, return_num=True)
    if n == 0:
        return mask, False
    sizes = np.bincount(components.ravel(), minlength=n + 1)[1:]
    small = sizes < area_thresh
    if not small.any():
        return mask, False
    if mode == "holes":
        fill = np.concatenate([[False], small])
        return mask | fill[components], True
    keep = ~small
    if not keep.any():
        keep[int(np.argmax(sizes))] = True
    return np.concatenate([[False], keep])[components], True


def _make_skimage_generator_class() -> type:
    """``SamAutomaticMaskGenerator`` whose small-region step uses :func:`remove_small_regions`."""
    import torch
    from segment_anything import SamAutomaticMaskGenerator
    from segment_anything.utils.amg import batched_mask_to_box, mask_to_rle_pytorch, rle_to_mask
    from torchvision.ops.boxes import batched_nms

    class SkimageSmallRegionGenerator(SamAutomaticMaskGenerator):
        """Same pipeline; only the OpenCV connected components are replaced (module docstring)."""

        def __init__(self, model: torch.nn.Module, min_mask_region_area: int = 0, **kwargs: Any) -> None:
            super().__init__(model, min_mask_region_area=0, **kwargs)  # skip the cv2 import check
            self.min_mask_region_area = min_mask_region_area

        @staticmethod
        def postprocess_small_regions(mask_data: Any, min_area: int, nms_thresh: float) -> Any:
            rles = mask_data["rles"]
            if len(rles) == 0:
                return mask_data
            masks, unchanged = [], []
            for rle in rles:
                m, holes_changed = remove_small_regions(rle_to_mask(rle), min_area, mode="holes")
                m, islands_changed = remove_small_regions(m, min_area, mode="islands")
                masks.append(torch.as_tensor(m)[None])
                unchanged.append(float(not (holes_changed or islands_changed)))
            stacked = torch.cat(masks, dim=0)
            boxes = batched_mask_to_box(stacked)
            keep = batched_nms(
                boxes.float(), torch.as_tensor(unchanged), torch.zeros(len(boxes)), iou_threshold=nms_thresh
            )
            for i in keep.tolist():
                if unchanged[i] == 0.0:
                    rles[i] = mask_to_rle_pytorch(stacked[i][None])[0]
                    mask_data["boxes"][i] = boxes[i]
            mask_data.filter(keep)
            return mask_data

    return SkimageSmallRegionGenerator


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


def _is_empty_crop_bug(exc: IndexError) -> bool:
    """True when an IndexError comes from segment-anything's crop merging with zero masks."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_generate_masks":
            return True
        tb = tb.tb_next
    return False


class SamSegmenter:
    """Automatic mask generation with segment-anything (model loaded once).

    Args:
        model_type: ``vit_h`` (DF4LCZ), ``vit_l``, ``vit_b`` or ``tiny`` (random weights, tests).
        checkpoint: state-dict file of that model type.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, …
        points_per_side … min_mask_region_area: ``SamAutomaticMaskGenerator`` settings
            (DF4LCZ's values by default).
        points_per_batch: prompts decoded together (memory/speed trade-off only).

    Raises:
        FileNotFoundError / ValueError: see :func:`load_sam`.
    """

    backend = "sam"

    def __init__(
        self,
        model_type: str,
        checkpoint: str | os.PathLike,
        device: str = "auto",
        points_per_side: int = 12,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.92,
        box_nms_thresh: float = 0.4,
        crop_n_layers: int = 1,
        crop_nms_thresh: float = 0.4,
        crop_n_points_downscale_factor: int = 2,
        min_mask_region_area: int = 100,
        points_per_batch: int = 64,
    ) -> None:
        if (points_per_side < 1 or crop_n_layers < 0 or crop_n_points_downscale_factor < 1
                or min_mask_region_area < 0):
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
            generator_class = _make_skimage_generator_class()
            self.small_region_backend = "scikit-image"
        else:
            from segment_anything import SamAutomaticMaskGenerator as generator_class

            if min_mask_region_area > 0:
                self.small_region_backend = "opencv"
        self.generator = generator_class(self.model, output_mode="binary_mask", **self.settings)

    def segment(self, image: np.ndarray) -> list[dict[str, Any]]:
        """Mask records of one ``(H, W, 3)`` uint8 RGB image (module docstring); ``[]`` if none."""
        arr = _check_image(image)
        try:
            anns = self.generator.generate(arr)
        except IndexError as exc:
            # segment-anything bug: with crop layers, merging crops fails when no mask survived
            if self.settings["crop_n_layers"] >= 1 and _is_empty_crop_bug(exc):
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


class ClassicalSegmenter:
    """Region segmentation with scikit-image, producing SAM-style records.

    ``felzenszwalb`` (graph-based merging; ``scale``, ``sigma``, ``min_size``) or ``slic``
    (k-means superpixels; ``n_segments``, ``compactness``, ``sigma``). Regions tile the image
    without overlap; ``predicted_iou`` and ``stability_score`` are ``NaN`` (not defined).
    """

    backend = "classical"

    def __init__(
        self,
        method: str = "felzenszwalb",
        scale: float = 150.0,
        sigma: float = 0.8,
        min_size: int = 50,
        n_segments: int = 60,
        compactness: float = 10.0,
    ) -> None:
        if method not in CLASSICAL_METHODS:
            raise ValueError(
                f"classical method {method!r} is unknown; expected one of {list(CLASSICAL_METHODS)}"
            )
        if scale <= 0 or sigma < 0 or min_size < 1 or n_segments < 2 or compactness <= 0:
            raise ValueError(
                "classical settings out of range: scale > 0, sigma >= 0, min_size >= 1, n_segments >= 2, "
                f"compactness > 0 (got {scale}, {sigma}, {min_size}, {n_segments}, {compactness})"
            )
        self.method = method
        self.params: dict[str, Any] = (
            {"scale": float(scale), "sigma": float(sigma), "min_size": int(min_size)}
            if method == "felzenszwalb"
            else {"n_segments": int(n_segments), "compactness": float(compactness), "sigma": float(sigma)}
        )

    def region_map(self, image: np.ndarray) -> np.ndarray:
        """``(H, W)`` int region ids (0-based, every pixel assigned) of one image."""
        from skimage.segmentation import felzenszwalb, slic

        arr = _check_image(image)
        if self.method == "felzenszwalb":
            p = self.params
            return felzenszwalb(arr, scale=p["scale"], sigma=p["sigma"], min_size=p["min_size"])
        return slic(
            arr,
            n_segments=self.params["n_segments"],
            compactness=self.params["compactness"],
            sigma=self.params["sigma"],
            start_label=0,
        )

    def segment(self, image: np.ndarray) -> list[dict[str, Any]]:
        """One record per region, in region-id order."""
        from scipy import ndimage

        regions = self.region_map(image)
        areas = np.bincount(regions.ravel())
        records = []
        for rid, sl in enumerate(ndimage.find_objects(regions + 1)):
            if sl is None:
                continue
            mask = regions == rid
            records.append(
                {
                    "segmentation": mask,
                    "area": int(areas[rid]),
                    "bbox": [sl[1].start, sl[0].start, sl[1].stop - 1 - sl[1].start,
                             sl[0].stop - 1 - sl[0].start],
                    "predicted_iou": math.nan,
                    "stability_score": math.nan,
                }
            )
        return records

    def describe(self) -> dict[str, Any]:
        """Backend, method and its parameters."""
        return {"backend": self.backend, "method": self.method, **self.params}


def make_segmenter(backend: str, sam: dict[str, Any] | None = None, classical: dict[str, Any] | None = None,
                   checkpoint: str | os.PathLike | None = None) -> SamSegmenter | ClassicalSegmenter:
    """Build a segmenter from the ``segment`` config section.

    Args:
        backend: ``"sam"`` or ``"classical"``.
        sam: the ``segment.sam`` settings (``model_type``, ``device``, generator settings;
            ``checkpoint`` in it is overridden by the ``checkpoint`` argument when given).
        classical: the ``segment.classical`` settings.
        checkpoint: SAM checkpoint path.
    """
    if backend == "classical":
        return ClassicalSegmenter(**(classical or {}))
    if backend == "sam":
        settings = dict(sam or {})
        model_type = settings.pop("model_type", "vit_h")
        ckpt = settings.pop("checkpoint", None) if checkpoint is None else checkpoint
        settings.pop("checkpoint", None)
        if ckpt is None:
            info = SAM_CHECKPOINTS.get(model_type)
            hint = f" (official file {info.filename})" if info else ""
            raise ValueError(f"segment.sam: no checkpoint given for model_type {model_type!r}{hint}")
        return SamSegmenter(model_type, ckpt, **settings)
    raise ValueError(f"segment.backend {backend!r} is unknown; expected 'sam' or 'classical'")


# --------------------------------------------------------------------------------------------
# Post-processing, label maps, files
# --------------------------------------------------------------------------------------------


def postprocess_masks(
    records: Sequence[dict[str, Any]], min_area: int = 50, max_masks: int = 50
) -> list[dict[str, Any]]:
    """Sort records by ``area`` (largest first, ties keep their order), drop ``area < min_area``,
    keep at most ``max_masks``."""
    if min_area < 0 or max_masks < 0:
        raise ValueError(f"min_area and max_masks must be >= 0, got {min_area}, {max_masks}")
    ordered = sorted(records, key=lambda r: -int(r["area"]))
    return [r for r in ordered if int(r["area"]) >= min_area][:max_masks]


@dataclass
class MaskSet:
    """Instance masks of N images, M masks in all (the masks-file contract).

    Attributes:
        labels: ``(N, H, W)`` uint8 (uint16 when more than 255 masks per image are allowed)
            instance label maps; 0 = background, ``k`` = the k-th kept mask of the image.
        mask_ptr: ``(N + 1,)`` int64; masks of image ``i`` are rows ``mask_ptr[i]:mask_ptr[i+1]``.
        bbox: ``(M, 4)`` int32 SAM-style ``x, y, w, h`` of each whole mask (before overlap painting).
        area: ``(M,)`` int64 pixels of each whole mask.
        visible_area: ``(M,)`` int64 pixels carrying the mask's label in ``labels``.
        predicted_iou: ``(M,)`` float32 (NaN for the classical backend).
        stability_score: ``(M,)`` float32 (NaN for the classical backend).
        params: backend and post-processing parameters (file attrs).
    """

    labels: np.ndarray
    mask_ptr: np.ndarray
    bbox: np.ndarray
    area: np.ndarray
    visible_area: np.ndarray
    predicted_iou: np.ndarray
    stability_score: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def n_masks(self) -> np.ndarray:
        """``(N,)`` masks per image."""
        return np.diff(self.mask_ptr)


def label_dtype(max_masks: int) -> np.dtype:
    """uint8 when ``max_masks`` ≤ 255, else uint16."""
    if max_masks > np.iinfo(np.uint16).max:
        raise ValueError(f"max_masks {max_masks} exceeds {np.iinfo(np.uint16).max}")
    return np.dtype(np.uint8 if max_masks <= np.iinfo(np.uint8).max else np.uint16)


def paint_labels(
    records: Sequence[dict[str, Any]], shape: tuple[int, int], dtype: np.dtype = np.dtype(np.uint8)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint records (already ordered largest first) into an instance label map.

    Later (smaller) masks overwrite earlier ones; records left without visible pixels are dropped
    and the labels renumbered 1..K.

    Returns:
        ``labels`` ``(H, W)``, ``kept`` (K,) indices into ``records``, ``visible`` (K,) pixel counts.
    """
    if len(records) > np.iinfo(dtype).max:
        raise ValueError(f"{len(records)} masks do not fit labels of type {dtype}")
    labels = np.zeros(shape, dtype=dtype)
    for k, rec in enumerate(records, start=1):
        seg = rec["segmentation"]
        if seg.shape != shape:
            raise ValueError(f"mask {k - 1} has shape {seg.shape}; expected {shape}")
        labels[seg] = k
    counts = np.bincount(labels.ravel(), minlength=len(records) + 1)[1:]
    kept = np.flatnonzero(counts > 0)
    if len(kept) < len(records):
        remap = np.zeros(len(records) + 1, dtype=dtype)
        remap[kept + 1] = np.arange(1, len(kept) + 1, dtype=dtype)
        labels = remap[labels]
    return labels, kept, counts[kept].astype(np.int64)


def segment_images(
    images: np.ndarray, segmenter: Segmenter, min_area: int = 50, max_masks: int = 50
) -> MaskSet:
    """Segment ``(N, H, W, 3)`` uint8 images and build their label maps (module docstring).

    Args:
        images: RGB chips.
        segmenter: a :class:`SamSegmenter` or :class:`ClassicalSegmenter`.
        min_area: masks with fewer pixels are dropped (DF4LCZ 50).
        max_masks: at most this many masks per image, largest first (DF4LCZ 50).
    """
    imgs = np.asarray(images)
    if imgs.ndim != 4 or imgs.shape[3] != 3 or imgs.dtype != np.uint8:
        raise ValueError(f"images must be (N, H, W, 3) uint8, got {imgs.dtype} {imgs.shape}")
    n, h, w = imgs.shape[:3]
    dtype = label_dtype(max_masks)
    labels = np.zeros((n, h, w), dtype=dtype)
    counts = np.zeros(n, dtype=np.int64)
    bbox, area, visible, iou, stab = [], [], [], [], []
    for i in progress(range(n), desc=f"segment ({segmenter.backend})"):
        kept_records = postprocess_masks(segmenter.segment(imgs[i]), min_area, max_masks)
        labels[i], kept, vis = paint_labels(kept_records, (h, w), dtype)
        recs = [kept_records[j] for j in kept]
        counts[i] = len(recs)
        bbox += [r["bbox"] for r in recs]
        area += [r["area"] for r in recs]
        iou += [r["predicted_iou"] for r in recs]
        stab += [r["stability_score"] for r in recs]
        visible.append(vis)
    params = {**segmenter.describe(), "min_area": int(min_area), "max_masks": int(max_masks),
              "overlap_rule": OVERLAP_RULE}
    return MaskSet(
        labels=labels,
        mask_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        bbox=np.asarray(bbox, dtype=np.int32).reshape(-1, 4),
        area=np.asarray(area, dtype=np.int64),
        visible_area=np.concatenate(visible).astype(np.int64) if visible else np.zeros(0, np.int64),
        predicted_iou=np.asarray(iou, dtype=np.float32),
        stability_score=np.asarray(stab, dtype=np.float32),
        params=params,
    )


_MASK_ARRAYS: tuple[str, ...] = (
    "labels", "mask_ptr", "bbox", "area", "visible_area", "predicted_iou", "stability_score"
)


def _attr_value(value: Any) -> Any:
    """Make a parameter storable as an HDF5 attribute (None → "none")."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)) and not value:
        return "[]"
    return value


def _check_maskset(where: str, ids: np.ndarray, ms: MaskSet) -> None:
    n = len(ids)
    if ms.labels.ndim != 3 or ms.labels.shape[0] != n or ms.labels.dtype.kind != "u":
        raise ValueError(
            f"{where}: labels must be (N={n}, H, W) unsigned ints, got {ms.labels.dtype} {ms.labels.shape}"
        )
    if ms.mask_ptr.shape != (n + 1,) or ms.mask_ptr[0] != 0 or (np.diff(ms.mask_ptr) < 0).any():
        raise ValueError(
            f"{where}: mask_ptr must be ({n + 1},) non-decreasing from 0, got {ms.mask_ptr.shape}"
        )
    m = int(ms.mask_ptr[-1])
    if ms.bbox.shape != (m, 4):
        raise ValueError(f"{where}: bbox must be ({m}, 4), got {ms.bbox.shape}")
    for name in ("area", "visible_area", "predicted_iou", "stability_score"):
        if getattr(ms, name).shape != (m,):
            raise ValueError(f"{where}: {name} must be ({m},), got {getattr(ms, name).shape}")


def write_masks(
    path: str | os.PathLike, sample_ids: np.ndarray, maskset: MaskSet, attrs: dict[str, Any] | None = None
) -> None:
    """Write a masks shard (DESIGN.md §5) atomically.

    Datasets: ``sample_id`` (N,) int64, ``labels`` (N, H, W), ``mask_ptr`` (N+1,), ``bbox`` (M, 4)
    XYWH, ``area``, ``visible_area``, ``predicted_iou``, ``stability_score`` (M,). Attrs: the
    backend and its parameters (``maskset.params``), ``bbox_format``, plus ``attrs``.

    Raises:
        ValueError: arrays inconsistent with each other or with ``sample_ids``.
    """
    ids = np.asarray(sample_ids).astype(np.int64).reshape(-1)
    _check_maskset(str(path), ids, maskset)
    all_attrs = {k: _attr_value(v) for k, v in {**maskset.params, **(attrs or {})}.items()}
    all_attrs["bbox_format"] = "XYWH, x/y = first column/row, w/h = last minus first (SAM)"
    write_h5(path, {"sample_id": ids, **{name: getattr(maskset, name) for name in _MASK_ARRAYS}}, all_attrs)


def read_masks(path: str | os.PathLike) -> tuple[np.ndarray, MaskSet]:
    """Read a masks shard: ``sample_id`` (N,) int64 and the :class:`MaskSet` (attrs in ``params``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not HDF5, datasets missing or inconsistent.
    """
    data, attrs = read_h5(path, ["sample_id", *_MASK_ARRAYS])
    ids = data["sample_id"].astype(np.int64)
    ms = MaskSet(**{name: data[name] for name in _MASK_ARRAYS}, params=dict(attrs))
    _check_maskset(str(path), ids, ms)
    return ids, ms


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------

#: Opacity of the label colours drawn over the chip.
OVERLAY_ALPHA: float = 0.45


def overlay_image(image: np.ndarray, labels: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1]: the chip with one colour per label and white outlines."""
    from matplotlib import colormaps
    from skimage.segmentation import find_boundaries

    base = image.astype(np.float32) / 255.0
    palette = np.asarray(colormaps["tab20"].colors, dtype=np.float32)
    colours = palette[(labels.astype(np.int64) - 1) % len(palette)]
    fg = (labels > 0)[..., None]
    out = np.where(fg, (1 - alpha) * base + alpha * colours, base)
    out[find_boundaries(labels, mode="inner")] = 1.0
    return out


def plot_mask_overlays(
    images: np.ndarray, labels: np.ndarray, classes: np.ndarray, path: str | os.PathLike, per_class: int = 2
) -> Path:
    """PNG of mask overlays for up to ``per_class`` samples of each LCZ class present.

    Args:
        images: ``(N, H, W, 3)`` uint8 chips.
        labels: ``(N, H, W)`` instance label maps.
        classes: ``(N,)`` LCZ codes 1–17 of the samples.
        path: output PNG (written atomically).
        per_class: samples drawn per class (rows = classes, columns = samples).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    classes = np.asarray(classes).reshape(-1)
    if not (len(images) == len(labels) == len(classes)):
        raise ValueError(
            f"images, labels and classes differ in length: {len(images)}, {len(labels)}, {len(classes)}"
        )
    present = sorted(set(classes.tolist()))
    cols = max(1, per_class)
    rows = max(1, len(present))
    fig = Figure(figsize=(2.2 * cols, 2.3 * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    if not present or per_class < 1:
        axes[0, 0].text(0.5, 0.5, "no samples", ha="center", va="center")
    for r, code in enumerate(present):
        for c, i in enumerate(np.flatnonzero(classes == code)[:per_class]):
            ax = axes[r, c]
            ax.imshow(overlay_image(images[i], labels[i]), interpolation="nearest")
            n_masks = int(len(np.unique(labels[i])) - (labels[i] == 0).any())
            ax.set_title(f"LCZ {LCZ_SHORT.get(int(code), code)} · {n_masks} masks", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


# --------------------------------------------------------------------------------------------
# Shard-level entry points (called by the workflow's segment and summary scripts)
# --------------------------------------------------------------------------------------------


def segment_shard_file(
    chips_path: str | os.PathLike,
    samples_path: str | os.PathLike,
    masks_path: str | os.PathLike,
    overlay_path: str | os.PathLike,
    params: dict[str, Any],
    checkpoint: str | os.PathLike | None = None,
) -> MaskSet:
    """Segment every chip of a Google chip shard; write the masks file and the overlay PNG.

    Args:
        chips_path: ``results/chips/google/{shard}.h5``.
        samples_path: the sample table (``lcz`` of each sample, for the overlay rows).
        masks_path: output ``results/masks/{shard}.h5`` (atomic).
        overlay_path: output PNG of mask overlays (atomic).
        params: the ``segment`` config slice: ``backend``, ``min_area``, ``max_masks``,
            ``overlay_samples_per_class`` and the active backend's section (``sam`` or ``classical``).
        checkpoint: SAM checkpoint file (the ``sam`` backend only).
    """
    from .google import read_google_chips
    from .samples import read_samples

    ids, images = read_google_chips(chips_path)
    backend = params.get("backend", "classical")
    segmenter = make_segmenter(backend, sam=params.get("sam"), classical=params.get("classical"),
                               checkpoint=checkpoint)
    log.info("%s: %d chips, backend %s", chips_path, len(ids), segmenter.describe())
    min_area, max_masks = int(params.get("min_area", 50)), int(params.get("max_masks", 50))
    maskset = segment_images(images, segmenter, min_area, max_masks)
    write_masks(masks_path, ids, maskset, {"chips": os.path.basename(os.fspath(chips_path))})
    lcz = read_samples(samples_path, columns=["sample_id", "lcz"]).set_index("sample_id")["lcz"]
    missing = [int(i) for i in ids if int(i) not in lcz.index]
    if missing:
        raise ValueError(f"{chips_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}")
    classes = lcz.loc[ids].to_numpy().astype(int)
    per_class = int(params.get("overlay_samples_per_class", 2))
    plot_mask_overlays(images, maskset.labels, classes, overlay_path, per_class)
    n = maskset.n_masks()
    log.info("%s: %d masks (%.1f per chip, %d chips without mask)", masks_path, int(n.sum()),
             float(n.mean()) if len(n) else 0.0, int((n == 0).sum()))
    return maskset


def describe_backend(mask_files: Sequence[str | os.PathLike]) -> str:
    """One line naming the segmentation behind masks files, from their attrs (for reports).

    E.g. ``"SAM vit_h (points_per_side 12, pred_iou_thresh 0.88, …)"`` or ``"classical
    felzenszwalb (scale 150, sigma 0.8, min_size 50)"``; ``"none"`` without files. Files made
    with different settings are all listed, separated by ``"; "``.
    """
    from .io.hdf5 import read_h5

    lines: list[str] = []
    for path in mask_files:
        _, attrs = read_h5(path, [])
        backend = attrs.get("backend", "unknown")
        if backend == "sam":
            keys = ("points_per_side", "pred_iou_thresh", "stability_score_thresh", "box_nms_thresh",
                    "crop_n_layers", "crop_nms_thresh", "crop_n_points_downscale_factor",
                    "min_mask_region_area")
            head = f"SAM {attrs.get('model_type', '?')}"
        elif backend == "classical":
            method = attrs.get("method", "?")
            keys = (("scale", "sigma", "min_size") if method == "felzenszwalb"
                    else ("n_segments", "compactness", "sigma"))
            head = f"classical {method}"
        else:
            keys, head = (), str(backend)
        settings = ", ".join(f"{k} {attrs[k]}" for k in (*keys, "min_area", "max_masks") if k in attrs)
        line = f"{head} ({settings})" if settings else head
        if line not in lines:
            lines.append(line)
    return "; ".join(lines) if lines else "none"
