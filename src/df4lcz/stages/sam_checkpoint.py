"""Stage of rule ``sam_checkpoint``: download an official SAM checkpoint and verify its sha256.

Output: ``resources/sam/{filename}`` (written only once its sha256 matches; see
:mod:`df4lcz.segmentation.checkpoints`).
"""

from __future__ import annotations

from ..scripting import Job
from ..segmentation.checkpoints import download_checkpoint


def run(job: Job) -> None:
    """Fetch the checkpoint of ``job.params["model_type"]`` to ``job.output.checkpoint``."""
    download_checkpoint(job.params["model_type"], job.output.checkpoint)
