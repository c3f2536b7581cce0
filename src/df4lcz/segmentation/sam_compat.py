"""segment-anything without OpenCV, and around its empty-crop bug.

Small-region post-processing without OpenCV
-------------------------------------------
``min_mask_region_area > 0`` makes segment-anything remove small holes and islands from each mask
with OpenCV (``cv2.connectedComponentsWithStats``, 8-connectivity) and then re-run box NMS,
preferring masks that did not change. When ``cv2`` cannot be imported,
:class:`~df4lcz.segmentation.sam.SamSegmenter` runs the same step with scikit-image instead
(:func:`remove_small_regions`, using ``skimage.measure.label`` with 8-connectivity): holes
(connected background components, including one touching the border) with fewer than
``min_mask_region_area`` pixels are filled, islands with fewer pixels are removed (keeping the
largest island when all are small), boxes are recomputed and NMS re-run with score 1 for
unchanged and 0 for changed masks, at the same place in the pipeline (before RLE decoding). The
result is therefore the one OpenCV would give.

Empty-crop bug
--------------
With crop layers, segment-anything's crop merging raises ``IndexError`` when no mask survived the
thresholds; :func:`is_empty_crop_bug` recognises that case (the segmenter then returns no mask).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: the classical backend does not need it
    import torch


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


def make_skimage_generator_class() -> type:
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


def is_empty_crop_bug(exc: IndexError) -> bool:
    """True when an IndexError comes from segment-anything's crop merging with zero masks."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_generate_masks":
            return True
        tb = tb.tb_next
    return False
