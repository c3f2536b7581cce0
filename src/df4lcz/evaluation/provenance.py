"""What actually ran, for the summary: the graphs behind the GCN, read from the graph files' attrs,
and how the Sentinel-2 chips became reflectance, read from the chip files' attrs.

The segmentation line comes from the masks files (:func:`df4lcz.segmentation.describe.describe_backend`);
this module adds the graph side: the edge rule and its parameter, the mask view the graphs were
built from (attr ``mask_view``, when the graphs rule records it) and, for imported graphs, their
source (attr ``source``). Attrs are read through :mod:`df4lcz.io.graphs` (docs/contracts.md §5).

It also gathers the summary's provenance block (:func:`run_provenance`): config files and the digest of
the effective config (:func:`df4lcz.run.config_digest`), seed, package version, git commit, date and machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from df4lcz.graphs.edges import EDGE_RULES
from df4lcz.io.chips import read_chip_info
from df4lcz.io.graphs import read_graph_attrs

#: Attrs naming the parameter of each edge rule (in the order of the rules).
EDGE_PARAM_KEYS: tuple[str, ...] = tuple(rule.param for rule in EDGE_RULES.values() if rule.param)


def describe_graph_attrs(attrs: dict[str, Any]) -> str:
    """One line for a graph file's attrs, e.g. ``"mask view visible, edges adjacency (tolerance_px 3)"``."""
    params = ", ".join(f"{k} {attrs[k]}" for k in EDGE_PARAM_KEYS if k in attrs)
    edges = f"edges {attrs.get('edge_rule', 'unknown')}" + (f" ({params})" if params else "")
    parts = []
    if "mask_view" in attrs:
        parts.append(f"mask view {attrs['mask_view']}")
    parts.append(edges)
    if "source" in attrs:
        parts.append(f"imported from {attrs['source']}")
    return ", ".join(parts)


def describe_graphs(graph_files: Sequence[str | os.PathLike]) -> str:
    """One line naming how the graphs of a run were built; ``"none"`` without files.

    Files built with different settings are all listed, separated by ``"; "``.
    """
    lines: list[str] = []
    for path in graph_files:
        line = describe_graph_attrs(read_graph_attrs(path))
        if line not in lines:
            lines.append(line)
    return "; ".join(lines) if lines else "none"


def gcn_description(segmentation: str, graphs: str) -> str:
    """The summary's line for the GCN: what its input graphs were made of."""
    return (
        f"GCN on the instance graph of the Google Earth chip — segmentation: {segmentation}; graphs: {graphs}"
    )


def describe_sentinel2(chip_files: Sequence[str | os.PathLike]) -> str:
    """One line naming each Sentinel-2 input and its reflectance formula (docs/contracts.md §3 attrs).

    ``"S2B_MSIL2A_….SAFE: reflectance = (DN - 1000) / 10000 (…: L2A, processing baseline 05.10)"``; inputs
    of several shards are named once; ``"none"`` without files.
    """
    lines: list[str] = []
    for path in chip_files:
        _, attrs = read_chip_info(path)
        if "s2_inputs" in attrs:
            entries = [
                (e.get("product") or e.get("item") or e["path"], e["radiometry"])
                for e in json.loads(attrs["s2_inputs"])
            ]
        else:  # imported chips: the convention of their importer
            scale, offset = attrs.get("reflectance_scale"), attrs.get("reflectance_offset")
            offset_text = "" if offset is None or not any(offset) else f" + offset {list(offset)}"
            entries = [
                (
                    str(attrs.get("source", path)),
                    f"reflectance = DN{offset_text} / {scale:g}"
                    if scale is not None
                    else "reflectance scale not recorded",
                )
            ]
        for name, formula in entries:
            line = f"{name}: {formula}"
            if line not in lines:
                lines.append(line)
    return "; ".join(lines) if lines else "none"


def git_commit(*dirs: str | os.PathLike) -> str | None:
    """``git rev-parse HEAD`` of the first of ``dirs`` inside a git checkout (``+ local changes`` when its
    tracked files differ from the commit); None without git or checkout."""
    for d in dirs:
        try:
            head = subprocess.run(
                ["git", "-C", str(d), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if head.returncode != 0 or not head.stdout.strip():
            continue
        commit = head.stdout.strip()
        try:
            dirty = subprocess.run(
                ["git", "-C", str(d), "diff", "--quiet", "HEAD", "--"], capture_output=True, timeout=30
            ).returncode
        except (OSError, subprocess.SubprocessError):
            dirty = 0
        return commit + (" + local changes" if dirty == 1 else "")
    return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else :func:`platform.processor`), or ``"unknown"``."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_description() -> str:
    """The CUDA devices torch sees (names), ``"none"``, or why it is unknown. Imports torch: call it
    inside a job, never while the Snakefile is parsed."""
    try:
        import torch
    except ImportError:
        return "unknown (torch not installed)"
    if not torch.cuda.is_available():
        return "none (torch.cuda not available)"
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return ", ".join(names)


def run_provenance(
    *,
    configfiles: Sequence[str],
    config_sha256: str,
    seed: int | None,
    segmentation_backend: str,
    workdir: str | os.PathLike = ".",
    now: datetime | None = None,
) -> tuple[tuple[str, str], ...]:
    """The summary's provenance block: ``(label, value)`` pairs naming the config, seed, package version,
    git commit (of the working directory, else of the package's checkout; "not available" without git),
    date, the machine that wrote the summary (CPU, GPU) and the segmentation backend."""
    from df4lcz import __version__

    commit = git_commit(workdir, Path(__file__).resolve().parent)
    when = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return (
        ("Config file(s)", ", ".join(str(f) for f in configfiles) or "none (schema defaults)"),
        ("Effective config SHA-256", config_sha256),
        ("Seed", "not set" if seed is None else str(seed)),
        ("df4lcz version", __version__),
        ("Git commit", commit or "not available (no git checkout)"),
        ("Date", when),
        (
            "Machine (summary job)",
            f"{platform.system()} {platform.machine()}, {os.cpu_count() or '?'} CPU(s) {cpu_model()}; "
            f"GPU: {gpu_description()}; Python {platform.python_version()}",
        ),
        ("Segmentation backend", segmentation_backend),
    )
