"""The classical backend: scikit-image regions (Felzenszwalb or SLIC) as SAM-style records."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .protocol import check_image

#: scikit-image methods of the classical backend.
CLASSICAL_METHODS: tuple[str, ...] = ("felzenszwalb", "slic")


class ClassicalSegmenter:
    """Region segmentation with scikit-image, producing SAM-style records.

    ``felzenszwalb`` (graph-based merging; ``scale``, ``sigma``, ``min_size``) or ``slic``
    (k-means superpixels; ``n_segments``, ``compactness``, ``sigma``). Regions tile the image
    without overlap; ``predicted_iou`` and ``stability_score`` are ``NaN`` (not defined).
    The arguments are the ``segment.classical`` config slice.
    """

    backend = "classical"

    def __init__(
        self,
        method: str,
        scale: float,
        sigma: float,
        min_size: int,
        n_segments: int,
        compactness: float,
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

        arr = check_image(image)
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
                    "bbox": [
                        sl[1].start,
                        sl[0].start,
                        sl[1].stop - 1 - sl[1].start,
                        sl[0].stop - 1 - sl[0].start,
                    ],
                    "predicted_iou": math.nan,
                    "stability_score": math.nan,
                }
            )
        return records

    def describe(self) -> dict[str, Any]:
        """Backend, method and its parameters."""
        return {"backend": self.backend, "method": self.method, **self.params}
