"""Official Segment Anything (SAM) checkpoints: where to get them and how to check them.

Meta publishes the three checkpoints at ``https://dl.fbaipublicfiles.com/segment_anything/``
(see the segment-anything README, "Model Checkpoints"). Meta does not print checksums next to
them; the sha256 values below are the ones recorded independently by several public projects
that pin these files (for example micro-sam's model registry), which all agree.

``download_checkpoint`` streams a file to a temporary sibling, verifies its sha256 and renames it
into place only when it matches, so an interrupted or corrupted download never leaves a file that
looks valid. Machines without internet get an error that says exactly which file to fetch, where
to put it and which sha256 it must have.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..errors import ConfigError, InputError
from ..logs import get_logger

log = get_logger("sam_checkpoints")

#: Bytes read per step while hashing or downloading.
CHUNK_BYTES: int = 8 * 1024 * 1024

#: Seconds before an unanswered download request is abandoned.
DOWNLOAD_TIMEOUT_S: float = 60.0

#: Base URL of the official checkpoints.
SAM_BASE_URL: str = "https://dl.fbaipublicfiles.com/segment_anything/"


@dataclass(frozen=True)
class SamCheckpoint:
    """One official SAM checkpoint.

    Attributes:
        model_type: segment-anything registry key (``vit_h``, ``vit_l``, ``vit_b``).
        filename: official file name.
        url: download URL.
        sha256: expected SHA-256 of the file (lower-case hex).
        approx_mb: approximate size in MB (for messages only).
    """

    model_type: str
    filename: str
    url: str
    sha256: str
    approx_mb: int


#: The official checkpoints by model type.
SAM_CHECKPOINTS: dict[str, SamCheckpoint] = {
    "vit_h": SamCheckpoint(
        "vit_h",
        "sam_vit_h_4b8939.pth",
        SAM_BASE_URL + "sam_vit_h_4b8939.pth",
        "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
        2565,
    ),
    "vit_l": SamCheckpoint(
        "vit_l",
        "sam_vit_l_0b3195.pth",
        SAM_BASE_URL + "sam_vit_l_0b3195.pth",
        "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
        1250,
    ),
    "vit_b": SamCheckpoint(
        "vit_b",
        "sam_vit_b_01ec64.pth",
        SAM_BASE_URL + "sam_vit_b_01ec64.pth",
        "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
        375,
    ),
}


class ChecksumError(InputError):
    """A file's SHA-256 differs from the expected one."""


#: Folder (relative to the run) where rule ``sam_checkpoint`` puts the official checkpoints.
SAM_CHECKPOINT_DIR: str = "resources/sam"


def sam_checkpoint_file(segment: Mapping[str, Any]) -> str | None:
    """The SAM checkpoint a run's segmentation needs (``segment`` section of a validated config).

    ``None`` for the classical backend; ``segment.sam.checkpoint`` when given; else the official
    file of ``segment.sam.model_type`` under :data:`SAM_CHECKPOINT_DIR` (rule ``sam_checkpoint``).

    Raises:
        ConfigError: no checkpoint given and the model type has no official one.
    """
    if segment["backend"] != "sam":
        return None
    sam = segment["sam"]
    if sam["checkpoint"]:
        return str(sam["checkpoint"])
    if sam["model_type"] not in SAM_CHECKPOINTS:
        raise ConfigError(
            f"config key 'segment.sam.checkpoint': model_type {sam['model_type']!r} has no official "
            "checkpoint to download; give the path of a checkpoint file"
        )
    return f"{SAM_CHECKPOINT_DIR}/{SAM_CHECKPOINTS[sam['model_type']].filename}"


def checkpoint_info(model_type: str) -> SamCheckpoint:
    """Return the table entry of ``model_type``; ``ValueError`` listing the known ones otherwise."""
    try:
        return SAM_CHECKPOINTS[model_type]
    except KeyError:
        raise ValueError(
            f"model_type {model_type!r} has no official SAM checkpoint; "
            f"expected one of {sorted(SAM_CHECKPOINTS)}"
        ) from None


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (lower-case hex) of a file, read in chunks of ``CHUNK_BYTES``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def manual_instructions(model_type: str, dest: str | os.PathLike) -> str:
    """Text telling a user how to place the checkpoint of ``model_type`` at ``dest`` by hand."""
    info = checkpoint_info(model_type)
    return (
        f"download {info.url} (~{info.approx_mb} MB) on a machine with internet access, copy it to "
        f"{os.fspath(dest)} and check it with `sha256sum {os.fspath(dest)}`; expected sha256 {info.sha256}"
    )


def verify_checkpoint(path: str | os.PathLike, model_type: str) -> str:
    """Check that ``path`` is the official checkpoint of ``model_type``.

    Returns:
        The file's SHA-256.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message says how to get the file).
        ChecksumError: the SHA-256 differs (truncated, corrupted or a different file).
    """
    info = checkpoint_info(model_type)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path}: SAM {model_type} checkpoint not found; {manual_instructions(model_type, path)}"
        )
    digest = sha256_file(path)
    if digest != info.sha256:
        raise ChecksumError(
            f"{path}: sha256 {digest} does not match the official {info.filename} ({info.sha256}); "
            "the file is truncated, corrupted or another model. "
            f"Delete it and {manual_instructions(model_type, path)}"
        )
    return digest


def download_checkpoint(model_type: str, dest: str | os.PathLike, url: str | None = None) -> Path:
    """Download the official checkpoint of ``model_type`` to ``dest`` and verify its SHA-256.

    The file is streamed into a temporary sibling of ``dest`` and renamed onto ``dest`` only
    once its hash matches. An existing ``dest`` with the right hash is kept as it is.

    Args:
        model_type: ``vit_h``, ``vit_l`` or ``vit_b``.
        dest: destination file.
        url: override of the download URL (a mirror); the expected hash stays the official one.

    Returns:
        ``dest`` as a ``Path``.

    Raises:
        ConnectionError: the download failed (no network, HTTP error); the message explains how
            to place the file by hand (URL, destination, expected sha256).
        ChecksumError: the downloaded bytes have the wrong hash (nothing is left at ``dest``).
    """
    info = checkpoint_info(model_type)
    dest = Path(dest)
    if dest.is_file():
        try:
            verify_checkpoint(dest, model_type)
            log.info("%s already present and verified", dest)
            return dest
        except ChecksumError:
            log.warning("%s exists but its sha256 is wrong; downloading it again", dest)
    source = url or info.url
    log.info("downloading %s (~%d MB) to %s", source, info.approx_mb, dest)
    with atomic_path(dest) as tmp:
        digest = hashlib.sha256()
        try:
            with (
                urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_S) as response,
                open(tmp, "wb") as out,
            ):
                while chunk := response.read(CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"could not download the SAM {model_type} checkpoint from {source} ({exc}). "
                f"To install it by hand: {manual_instructions(model_type, dest)}"
            ) from exc
        if digest.hexdigest() != info.sha256:
            raise ChecksumError(
                f"{source}: downloaded file has sha256 {digest.hexdigest()}, expected {info.sha256}; "
                f"nothing was written to {dest}. "
                f"To install it by hand: {manual_instructions(model_type, dest)}"
            )
    log.info("%s verified (sha256 %s)", dest, info.sha256)
    return dest
