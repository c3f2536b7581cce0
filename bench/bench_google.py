"""Benchmark of the Google Earth stream on one CPU core: chips/s, masks/s per backend, graphs/s.

Renders one small demo city (EPSG:3857 Google raster, ≈1.19 m) into a work folder, lays the
320 m sample grid over it in the city's UTM zone and times, single-threaded:

1. ``chip_google``: 320×320×3 bilinear chips per second (windowed reads + reprojection);
2. ``segment_images`` with the classical backend (Felzenszwalb, config defaults) and with the
   random-weight ``tiny`` SAM (DF4LCZ's generator settings, and loose thresholds that keep
   masks): images/s, masks/s, seconds per image;
3. the masks file: bytes per sample (run-length encoded whole masks; in memory and gzip'd on
   disk) for the classical and the tiny-SAM masks;
4. graph building from the stored masks (≤ 50 masks per 320×320 chip): ``build_graphs`` on
   arrays already in memory for each mask view and edge rule of interest (``whole`` +
   ``adjacency``, the default; ``whole`` + ``complete``, the paper; ``visible`` + ``adjacency``),
   and including reading the masks and chip shards from HDF5.

Usage::

    .venv/bin/python bench/bench_google.py [--work DIR] [--chips 100] [--sam-images 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GDAL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from df4lcz.chipping.google.chips import chip_google  # noqa: E402
from df4lcz.config import schema_defaults  # noqa: E402
from df4lcz.constants import SAMPLE_SIZE_M  # noqa: E402
from df4lcz.demo.generate import DemoSettings, generate_city, plan_cities  # noqa: E402
from df4lcz.graphs.build import build_graphs, graph_settings  # noqa: E402
from df4lcz.io.chips import read_chips, write_chips  # noqa: E402
from df4lcz.io.masks import read_masks, write_masks  # noqa: E402
from df4lcz.segmentation.classical import ClassicalSegmenter  # noqa: E402
from df4lcz.segmentation.labels import paint_labels, segment_images  # noqa: E402
from df4lcz.segmentation.sam import SamSegmenter, build_tiny_sam_checkpoint  # noqa: E402

#: DF4LCZ's segmentation and graph settings (the schema defaults).
SEGMENT = schema_defaults("segment")
GRAPHS = graph_settings(schema_defaults("graphs"))
#: (label, mask view, edge rule) timed by the graph benchmark.
GRAPH_VARIANTS: tuple[tuple[str, str, str], ...] = (
    ("whole + adjacency t=3 (default)", "whole", "adjacency"),
    ("whole + complete (paper)", "whole", "complete"),
    ("visible + adjacency t=3", "visible", "adjacency"),
)
#: DF4LCZ's SamAutomaticMaskGenerator settings (``segment.sam`` without model, checkpoint, device).
SAM_SETTINGS = {k: v for k, v in SEGMENT["sam"].items() if k not in ("model_type", "checkpoint", "device")}

#: Generator thresholds under which the random tiny SAM keeps masks (for a masks/s figure).
LOOSE_SAM = {
    **SAM_SETTINGS,
    "pred_iou_thresh": 0.0,
    "stability_score_thresh": 0.0,
    "box_nms_thresh": 0.9,
    "min_mask_region_area": 0,
    "crop_nms_thresh": 0.9,
}


def sample_grid(city: dict) -> pd.DataFrame:
    """320 m squares on the city's grid (UTM), row-major."""
    xmin, ymin, xmax, ymax = city["bounds"]
    xs = np.arange(xmin, xmax - SAMPLE_SIZE_M + 1, SAMPLE_SIZE_M)
    ys = np.arange(ymax, ymin + SAMPLE_SIZE_M - 1, -SAMPLE_SIZE_M)
    rows = [
        dict(
            sample_id=i * len(xs) + j,
            crs=city["crs"],
            xmin=x,
            xmax=x + SAMPLE_SIZE_M,
            ymin=y - SAMPLE_SIZE_M,
            ymax=y,
        )
        for i, y in enumerate(ys)
        for j, x in enumerate(xs)
    ]
    return pd.DataFrame(rows)


def mask_bytes(path: Path, ms) -> str:
    """Bytes per sample of a masks file: run lengths in memory, and the whole file on disk."""
    n = max(len(ms), 1)
    per_mask = (ms.rle_counts.nbytes + ms.rle_ptr.nbytes) / max(int(ms.mask_ptr[-1]), 1)
    return (
        f"{path.stat().st_size / n:,.0f} B/sample on disk, {ms.rle_counts.nbytes / n:,.0f} B/sample of "
        f"run lengths in memory ({per_mask:,.0f} B/mask, {ms.mask_ptr[-1] / n:.1f} masks/sample)"
    )


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--chips", type=int, default=100, help="chips to cut (at most the city's grid)")
    ap.add_argument("--sam-images", type=int, default=3, help="chips segmented by the tiny SAM")
    ap.add_argument("--graph-repeats", type=int, default=3, help="repeats of the graph timing (best kept)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_google_"))
    settings = DemoSettings.from_config(
        {**schema_defaults("demo"), "seed": 7, "n_cities": 1, "patches_per_side": 3}
    )
    plan = plan_cities(settings)[0]
    city_dir = work / plan.name
    if not (city_dir / "google.tif").exists():
        generate_city(plan, 0, settings, city_dir)
    city = json.loads((city_dir / "city.json").read_text())
    samples = sample_grid(city).iloc[: args.chips]
    results: list[tuple[str, str]] = []

    # 1. chips
    google = schema_defaults("google")
    (ids, images, excluded), dt = timed(
        chip_google,
        city_dir / "google.tif",
        samples,
        chip_px=google["chip_px"],
        resampling=google["resampling"],
    )
    results.append(
        (
            "chip_google (bilinear, 320 px)",
            f"{len(samples) / dt:.1f} chips/s ({len(ids)} kept, {len(excluded)} excluded, {dt:.2f} s)",
        )
    )
    write_chips(work / "chips.h5", "google", ids, images, excluded)

    # 2. segmentation
    classical = ClassicalSegmenter(**SEGMENT["classical"])
    n_cls = min(len(images), 40)
    ms, dt = timed(segment_images, images[:n_cls], classical, 50, 50)
    n_masks = int(ms.mask_ptr[-1])
    results.append(
        (
            "classical felzenszwalb (scale 150)",
            f"{n_cls / dt:.2f} images/s, {n_masks / dt:.0f} masks/s ({n_masks / n_cls:.1f} masks/image)",
        )
    )
    ckpt = build_tiny_sam_checkpoint(work / "tiny_sam.pth")
    n_sam = min(args.sam_images, len(images))
    sam_masks = None
    for name, cfg in (("tiny SAM, DF4LCZ settings", SAM_SETTINGS), ("tiny SAM, loose thresholds", LOOSE_SAM)):
        sam = SamSegmenter("tiny", ckpt, device="cpu", **cfg)
        segment_images(images[:1], sam, 50, 50)  # warm-up
        sm, dt = timed(segment_images, images[:n_sam], sam, 50, 50)
        k = int(sm.mask_ptr[-1])
        results.append(
            (name, f"{dt / n_sam:.2f} s/image, {k / dt:.2f} masks/s ({k / n_sam:.1f} masks/image)")
        )
        sam_masks = sm

    # 3. masks files: bytes per sample
    full = segment_images(images, classical, 50, 50) if len(images) > n_cls else ms
    write_masks(work / "masks.h5", ids, full)
    results.append(("masks file, classical", mask_bytes(work / "masks.h5", full)))
    write_masks(work / "masks_sam.h5", ids[:n_sam], sam_masks)
    results.append(("masks file, tiny SAM (loose)", mask_bytes(work / "masks_sam.h5", sam_masks)))

    # 4. graphs from stored masks (classical masks, ≤ 50 per chip)
    n_g = len(images)
    mean_masks = full.mask_ptr[-1] / max(n_g, 1)
    for label, view, rule in GRAPH_VARIANTS:
        kwargs = {**GRAPHS, "mask_view": view, "edge_rule": rule}
        best = float("inf")
        for _ in range(args.graph_repeats):
            gs, dt = timed(build_graphs, full, images, **kwargs)
            best = min(best, dt)
        results.append(
            (
                f"build_graphs {label}, in memory",
                f"{n_g / best:.0f} graphs/s ({mean_masks:.1f} masks, "
                f"{gs.edge_ptr[-1] / max(n_g, 1):.0f} directed edges per graph)",
            )
        )
    best_io = float("inf")
    for _ in range(args.graph_repeats):
        t0 = time.perf_counter()
        _, m2 = read_masks(work / "masks.h5")
        imgs2 = read_chips(work / "chips.h5", "google").image
        build_graphs(m2, imgs2, **GRAPHS)
        best_io = min(best_io, time.perf_counter() - t0)
    results.append(
        (
            "read masks + chips (HDF5) + build_graphs",
            f"{n_g / best_io:.0f} graphs/s (default: whole + adjacency)",
        )
    )

    flat = paint_labels(full, 0).ravel()
    calib = min(timed(np.bincount, flat)[1] for _ in range(50))
    results.append(("calibration: np.bincount over one label map", f"{calib * 1e6:.0f} µs ({flat.size} px)"))
    print(f"Google stream benchmark, 1 core, work folder {work}, load average {os.getloadavg()[0]:.2f}")
    width = max(len(k) for k, _ in results)
    for key, value in results:
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
