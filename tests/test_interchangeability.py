"""The released DF4LCZ graphs and this workflow's paper preset give the same graph.

From one list of SAM-style records (whole boolean masks, XYWH boxes, areas; overlapping on
purpose, one mask wholly covered by smaller ones, a mask equal to another, two masks with
coincident box centres, masks under 50 px and more than 50 masks), this test writes a graph in the
released ``graph_{i}.npz`` form — written here from the published description, not with this
package: masks sorted by area (largest first), area < 50 px dropped, at most 50 kept; node
features mean R, G, B / 255 over all pixels of the mask and the box centre
``(x + 0.5 w) / 320``, ``(y + 0.5 h) / 320``; ``a`` the dense matrix of Euclidean distances
between the centres; ``y`` one-hot. It is imported with the LCZC-GES2 importer, and the same
records go through this workflow's segment and graphs stages with ``presets/paper.yaml``
(``mask_view: whole``, ``edge_rule: complete``). The two graph files must agree node for node
(``x`` within float32 rounding) and edge for edge.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from df4lcz.importers.lczc_ges2.graphs import import_graph_shard
from df4lcz.io.chips import write_chips
from df4lcz.io.graphs import read_graph_attrs, read_graphs
from df4lcz.io.masks import write_masks
from df4lcz.preflight import load_config
from df4lcz.segmentation.labels import segment_images
from df4lcz.stages.graphs import graphs_shard_file

REPO = Path(__file__).resolve().parents[1]
SIDE = 320
LCZ = 6


def rect(y0: int, x0: int, h: int, w: int) -> np.ndarray:
    m = np.zeros((SIDE, SIDE), bool)
    m[y0 : y0 + h, x0 : x0 + w] = True
    return m


def sam_record(m: np.ndarray, rng: np.random.Generator) -> dict:
    """A record as SamAutomaticMaskGenerator returns it (box: first column/row, last − first)."""
    ys, xs = np.nonzero(m)
    return {
        "segmentation": m,
        "area": int(m.sum()),
        "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())],
        "predicted_iou": float(rng.uniform(0.88, 1)),
        "stability_score": float(rng.uniform(0.92, 1)),
    }


def make_records(rng: np.random.Generator) -> list[dict]:
    masks = [
        rect(0, 0, 200, 320) | rect(200, 0, 40, 100),  # large background, L-shaped
        rect(40, 40, 30, 30),  # covered wholly by the two smaller masks below
        rect(40, 40, 30, 16),
        rect(40, 56, 30, 14),
        rect(100, 100, 31, 31),  # concentric: same box centre (115, 115) as the next
        rect(110, 110, 11, 11),
        rect(150, 200, 9, 9),  # and a copy of it (same pixels, same centre)
        rect(150, 200, 9, 9),
        rect(250, 250, 6, 7),  # 42 px: dropped
    ]
    blob = rng.random((SIDE, SIDE)) < 0.7  # an irregular mask with holes, overlapping others
    masks.append(rect(20, 150, 80, 60) & blob)
    for _ in range(70):  # small masks: more than 50 in all, some under 50 px
        y, x = rng.integers(0, SIDE - 12, size=2)
        masks.append(rect(int(y), int(x), int(rng.integers(5, 12)), int(rng.integers(5, 12))))
    order = rng.permutation(len(masks))  # SAM returns them in no particular order
    return [sam_record(masks[k], rng) for k in order]


def release_graph(records: list[dict], image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (n, 5) and the distance matrix ``a`` as the release describes them."""
    kept = sorted((r for r in records if r["area"] >= 50), key=lambda r: r["area"], reverse=True)[:50]
    rows = []
    for r in kept:
        x, y, w, h = r["bbox"]
        mean = image[r["segmentation"]].astype(np.float64).mean(axis=0)
        rows.append([mean[0] / 255, mean[1] / 255, mean[2] / 255, (x + 0.5 * w) / SIDE, (y + 0.5 * h) / SIDE])
    feats = np.array(rows)
    centres = feats[:, 3:5]
    a = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1))
    return feats, a


class RecordSegmenter:
    """A segmenter returning fixed records (the workflow's segment step around a SAM output)."""

    backend = "sam"

    def __init__(self, records: list[dict]) -> None:
        self.records = records

    def segment(self, image: np.ndarray) -> list[dict]:
        return self.records

    def describe(self) -> dict:
        return {"backend": "sam", "model_type": "records"}


def test_released_graph_equals_paper_preset_graph(tmp_path):
    rng = np.random.default_rng(12)
    records = make_records(rng)
    image = rng.integers(0, 256, size=(SIDE, SIDE, 3), dtype=np.uint8)

    # the released form, imported
    x_rel, a_rel = release_graph(records, image)
    np.savez(tmp_path / "graph_3.npz", x=x_rel, a=a_rel, y=np.eye(17)[LCZ - 1])
    table = pd.DataFrame(
        {"sample_id": [3], "lcz": [LCZ], "shard": [0], "graph_path": [str(tmp_path / "graph_3.npz")]}
    )
    import_graph_shard(table, 0, tmp_path / "imported.h5")
    _, y_imp, imported = read_graphs(tmp_path / "imported.h5")

    # this workflow, paper preset
    cfg = load_config(REPO / "presets" / "paper.yaml", check_files=False)
    assert (cfg["graphs"]["mask_view"], cfg["graphs"]["edge_rule"]) == ("whole", "complete")
    ms = segment_images(
        image[None], RecordSegmenter(records), cfg["segment"]["min_area"], cfg["segment"]["max_masks"]
    )
    write_masks(tmp_path / "masks.h5", np.array([3]), ms)
    write_chips(
        tmp_path / "chips.h5",
        "google",
        np.array([3]),
        image[None],
        pd.DataFrame({"sample_id": [], "reason": []}),
    )
    samples = gpd.GeoDataFrame(
        {
            "sample_id": [3],
            "region": "r",
            "polygon_id": 0,
            "lcz": [LCZ],
            "shard": 0,
            "crs": "EPSG:32650",
            "xmin": 0.0,
            "ymin": 0.0,
            "xmax": 320.0,
            "ymax": 320.0,
        },
        geometry=[box(0, 0, 1, 1)],
        crs="EPSG:4326",
    )
    samples.to_parquet(tmp_path / "samples.parquet")
    graphs_shard_file(
        tmp_path / "masks.h5",
        tmp_path / "chips.h5",
        tmp_path / "samples.parquet",
        tmp_path / "ours.h5",
        cfg["graphs"],
    )
    _, y_ours, ours = read_graphs(tmp_path / "ours.h5")
    attrs = read_graph_attrs(tmp_path / "ours.h5")
    assert (attrs["mask_view"], attrs["edge_rule"]) == ("whole", "complete")

    # node for node, edge for edge
    assert y_imp.tolist() == y_ours.tolist() == [LCZ]
    assert ours.feature_names == imported.feature_names == ["r", "g", "b", "cx", "cy"]
    assert len(x_rel) == 50 and ours.node_ptr.tolist() == imported.node_ptr.tolist() == [0, 50]
    np.testing.assert_array_max_ulp(ours.x, imported.x, maxulp=1)
    np.testing.assert_array_equal(ours.edge_index, imported.edge_index)

    # the graph is not trivially complete: coincident centres stay unjoined, nothing else does
    coincident = (a_rel == 0) & ~np.eye(50, dtype=bool)
    assert coincident.sum() >= 4  # the concentric squares and the copied square, both directions
    assert ours.edge_index.shape[1] == 50 * 49 - int(coincident.sum())
