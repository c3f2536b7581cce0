"""Stage of rule ``segment``: instance masks of every Google chip of one shard (SAM or classical).

Inputs: ``results/chips/google/{shard}.h5`` (docs/contracts.md §2), the sample table (§1, ``lcz``
of each sample for the overlay rows) and, for the ``sam`` backend, the SAM checkpoint. Outputs:
``results/masks/{shard}.h5`` (§4, through :mod:`df4lcz.io.masks`) and the overlay PNG
``results/figures/masks/{shard}.png``.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ContractError
from ..io.chips import read_chips
from ..io.masks import MaskSet, write_masks
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job
from ..segmentation.labels import segment_images
from ..segmentation.overlays import plot_mask_overlays
from ..segmentation.protocol import make_segmenter

log = get_logger(__name__)


def run(job: Job) -> None:
    """Segment the shard's chips with the ``segment`` config slice of the job's params."""
    checkpoint = job.input.checkpoint[0] if len(job.input.checkpoint) else None
    segment_shard_file(
        job.input.chips,
        job.input.samples,
        job.output.masks,
        job.output.overlay,
        job.params["segment"],
        checkpoint=checkpoint,
    )


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
        params: the ``segment`` config slice (validated): ``backend``, ``min_area``,
            ``max_masks``, ``overlay_samples_per_class`` and the active backend's section
            (``sam`` or ``classical``).
        checkpoint: SAM checkpoint file (the ``sam`` backend only).

    Raises:
        ValueError: a sample of the chips is not in the sample table.
    """
    chips = read_chips(chips_path, "google")
    ids, images = chips.sample_id, chips.image
    segmenter = make_segmenter(
        params["backend"], sam=params.get("sam"), classical=params.get("classical"), checkpoint=checkpoint
    )
    log.info("%s: %d chips, backend %s", chips_path, len(ids), segmenter.describe())
    min_area, max_masks = int(params["min_area"]), int(params["max_masks"])
    maskset = segment_images(images, segmenter, min_area, max_masks)
    write_masks(masks_path, ids, maskset, {"chips": os.path.basename(os.fspath(chips_path))})
    lcz = read_samples(samples_path, columns=["sample_id", "lcz"]).set_index("sample_id")["lcz"]
    missing = [int(i) for i in ids if int(i) not in lcz.index]
    if missing:
        raise ContractError(
            f"{chips_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}"
        )
    classes = lcz.loc[ids].to_numpy().astype(int)
    per_class = int(params["overlay_samples_per_class"])
    plot_mask_overlays(images, maskset, classes, overlay_path, per_class)
    n = maskset.n_masks()
    log.info(
        "%s: %d masks (%.1f per chip, %d chips without mask)",
        masks_path,
        int(n.sum()),
        float(n.mean()) if len(n) else 0.0,
        int((n == 0).sum()),
    )
    return maskset
