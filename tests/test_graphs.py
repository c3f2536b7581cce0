"""Graph construction in the ``visible`` mask view: node features and edges of hand-made label
maps against hand-computed values, the adjacency rule against a brute-force pixel check,
normalisation against a dense formula, collation, files and PyG conversion. The ``whole`` view:
tests/test_graphs_whole.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from helpers.graphs import dense_adjacency, gcn_norm_dense
from helpers.masks import masks_of_label_map, records_of_masks
from scipy import ndimage

from df4lcz.config import schema_defaults
from df4lcz.graphs.build import build_graph, build_graphs, graph_settings
from df4lcz.graphs.edges import adjacency_pairs
from df4lcz.graphs.features import AVAILABLE_FEATURES, DF4LCZ_FEATURES, node_features
from df4lcz.graphs.pyg import graphs_to_pyg
from df4lcz.io.graphs import read_graph_attrs, read_graphs, write_graphs
from df4lcz.segmentation.labels import maskset_from_records, paint_labels
from df4lcz.stages.graphs import graphs_shard_file
from df4lcz.training.data import load_graphs

#: The schema's ``graphs`` defaults (DF4LCZ's settings).
GRAPHS = schema_defaults("graphs")


def settings(**overrides) -> dict:
    """Keyword arguments of build_graph (one label map): the schema defaults with ``overrides``."""
    return {k: v for k, v in graph_settings({**GRAPHS, **overrides}).items() if k != "mask_view"}


def shard_settings(**overrides) -> dict:
    """Keyword arguments of build_graphs in the visible view, with ``overrides``."""
    return graph_settings({**GRAPHS, "mask_view": "visible", **overrides})


def maskset_of_maps(maps) -> object:
    """The MaskSet holding, per label map, one whole mask per label present (label order)."""
    maps = np.asarray(maps)
    return maskset_from_records([records_of_masks(masks_of_label_map(m)) for m in maps], maps.shape[1:])


# 6 × 8 label map: four rectangles separated by background gaps (0).
HAND_LABELS = np.array(
    [
        [1, 1, 0, 0, 2, 2, 2, 0],
        [1, 1, 0, 0, 2, 2, 2, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [3, 3, 3, 0, 0, 0, 0, 0],
        [3, 3, 3, 0, 0, 0, 4, 4],
        [0, 0, 0, 0, 0, 0, 4, 4],
    ],
    dtype=np.uint8,
)
H, W = HAND_LABELS.shape


def hand_image() -> np.ndarray:
    """R = 10·column, G = 20·row, B = 7 everywhere (means are easy to work out by hand)."""
    rows, cols = np.mgrid[0:H, 0:W]
    return np.stack([10 * cols, 20 * rows, np.full((H, W), 7)], axis=-1).astype(np.uint8)


# Hand-computed per label: mean R, mean G, bbox (xmin, xmax, ymin, ymax), pixels.
HAND = {
    1: dict(r=5.0, g=10.0, box=(0, 1, 0, 1), n=4),
    2: dict(r=50.0, g=10.0, box=(4, 6, 0, 1), n=6),
    3: dict(r=10.0, g=70.0, box=(0, 2, 3, 4), n=6),
    4: dict(r=65.0, g=90.0, box=(6, 7, 4, 5), n=4),
}


def undirected(pairs: set[tuple[int, int]]) -> list[list[int]]:
    """Expected edge_index (0-based nodes) of 1-based label pairs, both directions, sorted."""
    both = sorted({(a - 1, b - 1) for a, b in pairs} | {(b - 1, a - 1) for a, b in pairs})
    return [[a for a, _ in both], [b for _, b in both]]


def brute_force_pairs(labels: np.ndarray, t: int) -> set[tuple[int, int]]:
    """Label pairs within Chebyshev distance t, by comparing every shifted copy of the map."""
    h, w = labels.shape
    pairs = set()
    for dy in range(-t, t + 1):
        for dx in range(-t, t + 1):
            a = labels[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            b = labels[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
            m = (a > 0) & (b > 0) & (a != b)
            pairs |= {(min(p, q), max(p, q)) for p, q in zip(a[m].tolist(), b[m].tolist())}
    return pairs


def test_default_features_match_hand_computation():
    x, node_labels, centres = node_features(HAND_LABELS, hand_image(), GRAPHS["features"])
    assert x.dtype == np.float32 and x.shape == (4, 5)
    assert node_labels.tolist() == [1, 2, 3, 4]
    for i, lab in enumerate([1, 2, 3, 4]):
        xmin, xmax, ymin, ymax = HAND[lab]["box"]
        cx, cy = (xmin + xmax + 1) / (2 * W), (ymin + ymax + 1) / (2 * H)
        expected = [HAND[lab]["r"] / 255, HAND[lab]["g"] / 255, 7 / 255, cx, cy]
        np.testing.assert_allclose(x[i], expected, rtol=1e-6)
        np.testing.assert_allclose(centres[i], [(xmin + xmax + 1) / 2, (ymin + ymax + 1) / 2])


def test_extra_features_match_hand_computation():
    x, _, _ = node_features(HAND_LABELS, hand_image(), ["area", "bbox_w", "bbox_h", "elongation", "b"])
    for i, lab in enumerate([1, 2, 3, 4]):
        xmin, xmax, ymin, ymax = HAND[lab]["box"]
        w_px, h_px = xmax - xmin + 1, ymax - ymin + 1
        # an a × b rectangle (a ≥ b) of unit squares has variances a²/12 and b²/12 → 1 - b/a
        elongation = 1 - min(w_px, h_px) / max(w_px, h_px)
        expected = [HAND[lab]["n"] / (H * W), w_px / W, h_px / H, elongation, 7 / 255]
        np.testing.assert_allclose(x[i], expected, rtol=1e-6, atol=1e-7)


def test_elongation_of_a_bar_and_a_diagonal():
    bar = np.zeros((5, 12), dtype=np.uint8)
    bar[2, 1:11] = 1  # 1 × 10 bar → 1 - 1/10
    x, _, _ = node_features(bar, np.zeros((5, 12, 3), np.uint8), ["elongation"])
    assert x[0, 0] == pytest.approx(0.9, abs=1e-6)
    diag = np.eye(6, dtype=np.uint8)  # six unit squares on a diagonal
    x, _, _ = node_features(diag, np.zeros((6, 6, 3), np.uint8), ["elongation"])
    coords = np.stack(np.nonzero(diag), axis=1).astype(float)
    cov = np.cov(coords.T, bias=True) + np.eye(2) / 12
    lam = np.linalg.eigvalsh(cov)
    assert x[0, 0] == pytest.approx(1 - math.sqrt(lam[0] / lam[1]), abs=1e-6)


def test_mean_rgb_exact_on_wide_random_maps():
    """Against np.bincount per channel, on maps wider than a run split (256 px) with long runs."""
    rng = np.random.default_rng(3)
    labels = np.repeat(rng.integers(0, 4, size=(12, 3)), 200, axis=1).astype(np.uint8)  # 12 × 600
    labels[0, :] = 1  # one run of 600 px of a bright label: sums overflow 16 bits without the split
    image = rng.integers(0, 256, size=(12, 600, 3), dtype=np.uint8)
    image[0] = 255
    x, node_labels, _ = node_features(labels, image, ["r", "g", "b"])
    for c in range(3):
        sums = np.bincount(labels.ravel(), weights=image[..., c].ravel().astype(float))
        counts = np.bincount(labels.ravel())
        np.testing.assert_allclose(x[:, c], (sums / counts / 255)[node_labels], rtol=1e-6)


@pytest.mark.parametrize(
    "t, expected",
    [
        (1, set()),
        (2, {(1, 3), (2, 3)}),
        (3, {(1, 2), (1, 3), (2, 3), (2, 4)}),
        (4, {(1, 2), (1, 3), (2, 3), (2, 4), (3, 4)}),
        (5, {(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)}),
    ],
)
def test_adjacency_rule_by_hand(t, expected):
    assert {tuple(p) for p in adjacency_pairs(HAND_LABELS, t).tolist()} == expected
    x, ei = build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="adjacency", tolerance_px=t))
    assert ei.dtype == np.int64 and ei.tolist() == (undirected(expected) if expected else [[], []])


def test_adjacency_rule_matches_brute_force_on_random_maps():
    rng = np.random.default_rng(0)
    for trial in range(60):
        labels = rng.integers(1, 7, size=(rng.integers(5, 25), rng.integers(5, 30))).astype(np.uint8)
        labels[rng.random(labels.shape) < 0.55] = 0
        for t in (1, 2, 3):
            got = {tuple(p) for p in adjacency_pairs(labels, t).tolist()}
            assert got == brute_force_pairs(labels, t), (trial, t)


def reference_graph(labels: np.ndarray, image: np.ndarray, t: int) -> tuple[np.ndarray, list[list[int]]]:
    """Node features (r, g, b, cx, cy, area, bbox_w, bbox_h) and adjacency edges of one chip,
    computed mask by mask: boolean masks for the statistics, and a (2t+1)×(2t+1) binary
    dilation of each mask for its neighbours."""
    h, w = labels.shape
    nodes = np.unique(labels[labels > 0])
    rows, edges = [], set()
    for i, lab in enumerate(nodes):
        mask = labels == lab
        ys, xs = np.nonzero(mask)
        mean = image[mask].astype(np.float64).mean(axis=0) / 255
        rows.append(
            [
                *mean,
                (xs.min() + xs.max() + 1) / (2 * w),
                (ys.min() + ys.max() + 1) / (2 * h),
                mask.sum() / (h * w),
                (xs.max() - xs.min() + 1) / w,
                (ys.max() - ys.min() + 1) / h,
            ]
        )
        grown = ndimage.binary_dilation(mask, structure=np.ones((2 * t + 1, 2 * t + 1), dtype=bool))
        for other in np.unique(labels[grown & ~mask & (labels > 0)]):
            edges.add((i, int(np.searchsorted(nodes, other))))
    edges = sorted(edges)
    return np.array(rows), [[a for a, _ in edges], [b for _, b in edges]]


def random_label_maps(rng: np.random.Generator) -> list[np.ndarray]:
    """Label maps of several kinds: blobs with gaps, speckle, wide rows (> RUN_SPLIT_PX),
    more than 64 labels (multi-word bit sets), more than 2^15 runs (int32 run map), empty."""
    maps = []
    for _ in range(4):  # blocky masks with background gaps
        h, w = rng.integers(8, 48, size=2)
        coarse = rng.integers(0, 9, size=(h // 4 + 1, w // 4 + 1))
        labels = np.kron(coarse, np.ones((4, 4), dtype=int))[:h, :w]
        labels[rng.random((h, w)) < 0.1] = 0
        maps.append(labels.astype(np.uint8))
    speckle = rng.integers(0, 6, size=(30, 37))
    maps.append(speckle.astype(np.uint8))
    wide = np.repeat(rng.integers(0, 5, size=(6, 4)), 150, axis=1)  # 6 × 600, runs of 150+ px
    maps.append(wide.astype(np.uint8))
    many = np.kron(rng.permutation(150).reshape(10, 15) + 1, np.ones((5, 5), dtype=int))
    many[rng.random(many.shape) < 0.2] = 0
    maps.append(many.astype(np.uint16))
    runs = rng.integers(0, 6, size=(120, 500))  # ≈ 42,000 foreground runs
    maps.append(runs.astype(np.uint8))
    maps.append(np.zeros((12, 20), dtype=np.uint8))
    return maps


@pytest.mark.parametrize("t", [1, 2, 3, 5])
def test_build_graphs_matches_per_mask_reference(t):
    """The run-based features and adjacency edges equal a per-mask computation (boolean masks,
    binary dilation) on random label maps, one chip at a time and collated."""
    rng = np.random.default_rng(100 + t)
    features = ["r", "g", "b", "cx", "cy", "area", "bbox_w", "bbox_h"]
    for labels in random_label_maps(rng):
        image = rng.integers(0, 256, size=(*labels.shape, 3), dtype=np.uint8)
        x, ei = build_graph(labels, image, **settings(features=features, tolerance_px=t))
        if not labels.any():
            assert x.shape == (1, len(features)) and ei.shape == (2, 0)
            continue
        ref_x, ref_edges = reference_graph(labels, image, t)
        np.testing.assert_allclose(x, ref_x, rtol=1e-6)
        assert ei.tolist() == ref_edges, labels.shape
        pairs = adjacency_pairs(labels, t)
        nodes = np.unique(labels[labels > 0])
        assert pairs.tolist() == [[nodes[a], nodes[b]] for a, b in zip(*ref_edges) if a < b]
        # the same chip inside a stack of chips gives the same graph
        stack = np.stack([np.zeros_like(labels), labels, labels[::-1]])
        images = np.stack([image, image, image[::-1]])
        gs = build_graphs(maskset_of_maps(stack), images, **shard_settings(features=features, tolerance_px=t))
        np.testing.assert_array_equal(gs.graph(1)[0], x)
        np.testing.assert_array_equal(gs.graph(1)[1], ei)
        flipped = build_graph(labels[::-1], image[::-1], **settings(features=features, tolerance_px=t))
        np.testing.assert_array_equal(gs.graph(2)[1], flipped[1])
        assert gs.graph(0)[1].shape == (2, 0)


def test_radius_rule_by_hand():
    # centres in px: 1 (1, 1), 2 (5.5, 1), 3 (1.5, 4), 4 (7, 5); 1–2 is exactly 4.5
    _, ei = build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="radius", radius_px=4.5))
    assert ei.tolist() == undirected({(1, 2), (1, 3), (2, 4)})
    _, ei = build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="radius", radius_px=1.0))
    assert ei.shape == (2, 0)


def test_knn_rule_by_hand():
    _, ei = build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="knn", k=1))
    assert ei.tolist() == undirected({(1, 3), (2, 4)})  # 1→3, 2→4, 3→1, 4→2
    _, ei = build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="knn", k=2))
    assert ei.tolist() == undirected({(1, 3), (1, 2), (2, 4), (2, 3), (3, 4)})


def test_edges_are_binary_undirected_without_self_loops():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 9, size=(40, 40)).astype(np.uint8)
    image = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    for rule in ("adjacency", "radius", "knn"):
        x, ei = build_graph(labels, image, **settings(edge_rule=rule, radius_px=15, k=3))
        pairs = set(map(tuple, ei.T.tolist()))
        assert len(pairs) == ei.shape[1]  # no duplicates
        assert all((b, a) in pairs for a, b in pairs)
        assert all(a != b for a, b in pairs)
        assert ei.min() >= 0 and ei.max() < len(x)


def test_gcn_norm_dense_against_explicit_formula():
    rng = np.random.default_rng(2)
    n = 7
    a = (rng.random((n, n)) < 0.4) * rng.uniform(0.5, 3, (n, n))
    a = np.maximum(a, a.T)
    a[:, 6] = a[6, :] = 0.0  # node 6 isolated
    a[2, 2] = 5.0  # a self-loop that must be ignored
    norm = gcn_norm_dense(a)
    binary = (a != 0).astype(float)
    np.fill_diagonal(binary, 0)
    deg = binary.sum(1)
    expected = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if binary[i, j]:
                expected[i, j] = 1.0 / math.sqrt(deg[i] * deg[j])
    np.testing.assert_allclose(norm, expected)
    assert not norm[6].any() and not norm[:, 6].any()


def test_normalised_adjacency_of_a_built_graph():
    x, ei = build_graph(HAND_LABELS, hand_image(), **settings(tolerance_px=3))
    norm = gcn_norm_dense(dense_adjacency(ei, len(x)))
    # degrees: 1: {2, 3} → 2, 2: {1, 3, 4} → 3, 3: {1, 2} → 2, 4: {2} → 1
    assert norm[0, 1] == pytest.approx(1 / math.sqrt(6))
    assert norm[1, 3] == pytest.approx(1 / math.sqrt(3))
    assert norm[0, 3] == 0.0


def test_empty_label_map_gives_whole_chip_node():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, size=(16, 20, 3), dtype=np.uint8)
    x, ei = build_graph(np.zeros((16, 20), np.uint8), image, **settings(features=AVAILABLE_FEATURES))
    mean = image.reshape(-1, 3).mean(0) / 255
    np.testing.assert_allclose(x[0], [*mean, 0.5, 0.5, 1.0, 1.0, 1.0, 0.0], rtol=1e-6)
    assert x.shape == (1, len(AVAILABLE_FEATURES)) and ei.shape == (2, 0)


def test_unknown_feature_and_bad_parameters():
    with pytest.raises(ValueError, match=r"unknown node feature\(s\) \['hue'\]; valid names are \['r', 'g'"):
        node_features(HAND_LABELS, hand_image(), ["r", "hue"])
    with pytest.raises(ValueError, match="edge_rule 'delaunay' is unknown"):
        build_graph(HAND_LABELS, hand_image(), **settings(edge_rule="delaunay"))
    with pytest.raises(ValueError, match="tolerance_px must be an integer >= 1"):
        build_graph(HAND_LABELS, hand_image(), **settings(tolerance_px=0))
    with pytest.raises(ValueError, match="expected \\(6, 8, 3\\)"):
        build_graph(HAND_LABELS, np.zeros((6, 7, 3), np.uint8), **settings())


def collated_example() -> tuple:
    only_two = np.where(HAND_LABELS == 2, 5, 0).astype(np.uint8)
    labels = np.stack([HAND_LABELS, np.zeros_like(HAND_LABELS), only_two])
    images = np.stack([hand_image()] * 3)
    return labels, images


def test_build_graphs_collates_with_local_indices():
    labels, images = collated_example()
    gs = build_graphs(maskset_of_maps(labels), images, **shard_settings(tolerance_px=3))
    assert gs.node_ptr.tolist() == [0, 4, 5, 6]
    assert gs.edge_ptr.tolist() == [0, 8, 8, 8]
    assert gs.x.shape == (6, 5) and gs.x.dtype == np.float32 and gs.edge_index.dtype == np.int64
    x0, e0 = gs.graph(0)
    ref_x, ref_e = build_graph(HAND_LABELS, hand_image(), **settings(tolerance_px=3))
    np.testing.assert_array_equal(x0, ref_x)
    np.testing.assert_array_equal(e0, ref_e)
    np.testing.assert_allclose(gs.graph(2)[0][0, 3:], [11 / 16, 2 / 12])  # label 5 alone = label 2's box
    assert gs.feature_names == list(DF4LCZ_FEATURES)
    assert gs.params == {"mask_view": "visible", "edge_rule": "adjacency", "tolerance_px": 3}


def test_write_read_graphs_and_pyg(tmp_path):
    labels, images = collated_example()
    gs = build_graphs(
        maskset_of_maps(labels),
        images,
        **shard_settings(features=["r", "g", "b", "cx", "cy", "area"], edge_rule="knn", k=2),
    )
    path = tmp_path / "graphs" / "0.h5"
    write_graphs(path, np.array([10, 11, 12]), np.array([2, 14, 17]), gs, {"shard": 0})
    ids, y, back = read_graphs(path)
    assert ids.tolist() == [10, 11, 12] and y.tolist() == [2, 14, 17]
    np.testing.assert_array_equal(back.x, gs.x)
    np.testing.assert_array_equal(back.edge_index, gs.edge_index)
    np.testing.assert_array_equal(back.node_ptr, gs.node_ptr)
    assert back.feature_names == ["r", "g", "b", "cx", "cy", "area"]
    assert back.params["edge_rule"] == "knn" and back.params["k"] == 2 and back.params["shard"] == 0
    assert read_graph_attrs(path) == {
        "mask_view": "visible",
        "edge_rule": "knn",
        "k": 2,
        "shard": 0,
        "feature_names": ["r", "g", "b", "cx", "cy", "area"],
    }
    data = graphs_to_pyg(back, y, ids)
    assert len(data) == 3 and data[0].num_nodes == 4 and data[1].edge_index.shape == (2, 0)
    assert data[2].y.tolist() == [17] and data[2].sample_id == 12
    assert torch.equal(data[0].x, torch.from_numpy(gs.x[:4]))
    # the training stage's reader accepts the file
    loaded = load_graphs(path)
    assert loaded.sample_id.tolist() == [10, 11, 12]
    assert torch.equal(loaded.graphs[0].edge_index, data[0].edge_index)


def test_write_graphs_rejects_bad_labels(tmp_path):
    labels, images = collated_example()
    gs = build_graphs(maskset_of_maps(labels), images, **shard_settings())
    with pytest.raises(ValueError, match="LCZ codes 1–17"):
        write_graphs(tmp_path / "g.h5", np.array([1, 2, 3]), np.array([0, 1, 2]), gs)
    with pytest.raises(ValueError, match="2 labels y for 3 sample ids"):
        write_graphs(tmp_path / "g.h5", np.array([1, 2, 3]), np.array([1, 2]), gs)


def test_shard_pipeline_chips_to_masks_to_graphs(tmp_path):
    """segment_shard_file → graphs_shard_file on a tiny shard; describe_backend reads the attrs."""
    import geopandas as gpd
    from shapely.geometry import box

    from df4lcz.io.chips import write_chips
    from df4lcz.io.masks import read_masks
    from df4lcz.segmentation.describe import describe_backend
    from df4lcz.stages.segment import segment_shard_file

    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, size=(3, 48, 48, 3), dtype=np.uint8)
    images[:, 8:30, 8:30] = (220, 30, 30)
    ids = np.array([5, 9, 12])
    chips = tmp_path / "chips.h5"
    write_chips(chips, "google", ids, images, pd.DataFrame({"sample_id": [], "reason": []}))
    table = gpd.GeoDataFrame(
        {
            "sample_id": [12, 5, 9, 30],
            "region": "r",
            "polygon_id": 0,
            "lcz": [17, 2, 14, 6],
            "shard": 0,
            "crs": "EPSG:32650",
            "xmin": 0.0,
            "ymin": 0.0,
            "xmax": 320.0,
            "ymax": 320.0,
        },
        geometry=[box(0, 0, 1, 1)] * 4,
        crs="EPSG:4326",
    )
    samples = tmp_path / "samples.parquet"
    table.to_parquet(samples)
    params = {
        "backend": "classical",
        "min_area": 20,
        "max_masks": 6,
        "overlay_samples_per_class": 1,
        "classical": {
            "method": "felzenszwalb",
            "scale": 100.0,
            "sigma": 0.8,
            "min_size": 20,
            "n_segments": 60,
            "compactness": 10.0,
        },
    }
    segment_shard_file(chips, samples, tmp_path / "masks.h5", tmp_path / "overlay.png", params)
    mask_ids, ms = read_masks(tmp_path / "masks.h5")
    assert mask_ids.tolist() == [5, 9, 12] and (ms.n_masks() <= 6).all()
    assert (tmp_path / "overlay.png").stat().st_size > 0
    assert describe_backend([tmp_path / "masks.h5"]) == (
        "classical felzenszwalb (scale 100.0, sigma 0.8, min_size 20, min_area 20, max_masks 6)"
    )
    assert describe_backend([]) == "none"
    graphs_shard_file(
        tmp_path / "masks.h5",
        chips,
        samples,
        tmp_path / "graphs.h5",
        {**GRAPHS, "features": ["r", "g", "b", "cx", "cy"], "edge_rule": "adjacency", "tolerance_px": 2},
    )
    gids, y, gs = read_graphs(tmp_path / "graphs.h5")
    assert gids.tolist() == [5, 9, 12] and y.tolist() == [2, 14, 17]
    assert np.diff(gs.node_ptr).tolist() == ms.n_masks().tolist()
    assert gs.params["mask_view"] == "whole" and gs.params["edge_rule"] == "adjacency"
    x1, e1 = gs.graph(1)
    # classical masks do not overlap: the whole masks' colours are the visible ones, and the
    # adjacency edges those of the painted map
    ref_x, ref_e = build_graph(paint_labels(ms, 1), images[1], **settings(tolerance_px=2))
    np.testing.assert_allclose(x1[:, :3], ref_x[:, :3], rtol=1e-6)
    np.testing.assert_array_equal(e1, ref_e)
    no_exclusions = pd.DataFrame({"sample_id": [], "reason": []})
    write_chips(tmp_path / "other.h5", "google", ids[:2], images[:2], no_exclusions)
    with pytest.raises(ValueError, match="hold different samples"):
        graphs_shard_file(tmp_path / "masks.h5", tmp_path / "other.h5", samples, tmp_path / "g2.h5", {})
