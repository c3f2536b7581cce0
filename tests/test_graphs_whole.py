"""Graphs over whole masks (``graphs.mask_view: whole``, DF4LCZ's) and the ``complete`` rule,
against per-mask computations written here: boolean masks for the statistics, a plain painting
loop and binary dilation for the adjacency edges. Also: the ``visible`` view of overlapping masks
equals the former label-map pipeline (paint, drop hidden masks, renumber, build)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.masks import mask_bbox_xywh, paint, records_of_masks
from scipy import ndimage

from df4lcz.config import schema_defaults
from df4lcz.graphs.build import build_graph, build_graphs, graph_settings
from df4lcz.graphs.features import AVAILABLE_FEATURES
from df4lcz.segmentation.labels import maskset_from_records

GRAPHS = schema_defaults("graphs")
ALL = list(AVAILABLE_FEATURES)


def settings(**overrides) -> dict:
    return graph_settings({**GRAPHS, **overrides})


def random_masks(rng: np.random.Generator, h: int, w: int, n: int) -> list[np.ndarray]:
    """``n`` overlapping masks (rectangles and noisy blobs), sorted largest first; one is a copy of
    a smaller-or-equal later mask's pixels, so it is wholly covered in the painted map."""
    masks = []
    for j in range(n):
        m = np.zeros((h, w), bool)
        y, x = rng.integers(0, h - 2), rng.integers(0, w - 2)
        m[y : y + rng.integers(2, h // 2), x : x + rng.integers(2, w // 2)] = True
        if j % 3 == 1:
            m &= rng.random((h, w)) < 0.8
            m[y, x] = True
        masks.append(m)
    masks.append(masks[-1].copy())  # same area as the last: painted after it, covers it wholly
    order = sorted(range(len(masks)), key=lambda k: -int(masks[k].sum()))
    return [masks[k] for k in order]


def reference_features(masks, image) -> np.ndarray:
    """r, g, b, cx, cy, area, bbox_w, bbox_h, elongation of each whole mask, computed directly."""
    h, w = image.shape[:2]
    rows = []
    for m in masks:
        x, y, bw, bh = mask_bbox_xywh(m)
        ys, xs = np.nonzero(m)
        cov = np.cov(np.stack([xs, ys]).astype(float), bias=True) + np.eye(2) / 12
        lam = np.linalg.eigvalsh(cov)
        rows.append(
            [
                *(image[m].astype(float).mean(axis=0) / 255),
                (x + 0.5 * bw) / w,
                (y + 0.5 * bh) / h,
                m.sum() / (h * w),
                (bw + 1) / w,
                (bh + 1) / h,
                1 - np.sqrt(lam[0] / lam[1]),
            ]
        )
    return np.array(rows)


def dilation_edges(labels: np.ndarray, n_nodes: int, t: int) -> list[list[int]]:
    """Directed edges (node = label - 1) between labels within Chebyshev distance t."""
    edges = set()
    for lab in np.unique(labels[labels > 0]):
        grown = ndimage.binary_dilation(labels == lab, structure=np.ones((2 * t + 1, 2 * t + 1), bool))
        for other in np.unique(labels[grown & (labels > 0) & (labels != lab)]):
            edges |= {(int(lab) - 1, int(other) - 1), (int(other) - 1, int(lab) - 1)}
    edges = sorted(edges)
    assert all(a < n_nodes and b < n_nodes for a, b in edges)
    return [[a for a, _ in edges], [b for _, b in edges]]


@pytest.fixture(scope="module")
def chips():
    rng = np.random.default_rng(21)
    shape = (40, 52)
    per_chip = [random_masks(rng, *shape, n) for n in (7, 12, 1)] + [[]]
    images = rng.integers(0, 256, size=(len(per_chip), *shape, 3), dtype=np.uint8)
    ms = maskset_from_records([records_of_masks(m) for m in per_chip], shape)
    return per_chip, images, ms


def test_whole_features_over_all_pixels_of_each_mask(chips):
    per_chip, images, ms = chips
    gs = build_graphs(ms, images, **settings(features=ALL, mask_view="whole", edge_rule="complete"))
    for i, masks in enumerate(per_chip[:3]):
        x, _ = gs.graph(i)
        assert len(x) == len(masks)  # every mask is a node, the wholly covered one too
        np.testing.assert_allclose(x, reference_features(masks, images[i]), rtol=1e-5, atol=1e-6)
    # a chip without masks: one node for a mask covering the chip
    x, ei = gs.graph(3)
    h, w = images.shape[1:3]
    full = np.ones((h, w), bool)
    np.testing.assert_allclose(x, reference_features([full], images[3]), rtol=1e-5, atol=1e-6)
    assert ei.shape == (2, 0) and x[0, 3] == pytest.approx((w - 1) / (2 * w))


def test_complete_rule_joins_every_pair_with_distinct_centres(chips):
    per_chip, images, ms = chips
    gs = build_graphs(ms, images, **settings(mask_view="whole", edge_rule="complete"))
    assert gs.params == {"mask_view": "whole", "edge_rule": "complete"}
    for i, masks in enumerate(per_chip[:3]):
        _, ei = gs.graph(i)
        boxes = [mask_bbox_xywh(m) for m in masks]
        centres = [(x + 0.5 * w, y + 0.5 * h) for x, y, w, h in boxes]
        expected = [
            (a, b)
            for a in range(len(masks))
            for b in range(len(masks))
            if a != b and centres[a] != centres[b]
        ]
        assert ei.T.tolist() == [list(e) for e in expected]
        # the duplicated mask has the same centre as its twin: those two are not joined
        twins = [
            (a, b)
            for a in range(len(masks))
            for b in range(a + 1, len(masks))
            if np.array_equal(masks[a], masks[b])
        ]
        assert twins and all([a, b] not in ei.T.tolist() for a, b in twins)


@pytest.mark.parametrize("t", [1, 3])
def test_whole_adjacency_uses_the_painted_map(chips, t):
    per_chip, images, ms = chips
    gs = build_graphs(ms, images, **settings(mask_view="whole", edge_rule="adjacency", tolerance_px=t))
    for i, masks in enumerate(per_chip[:3]):
        x, ei = gs.graph(i)
        painted = paint(masks, images.shape[1:3])
        assert len(x) == len(masks)
        assert ei.tolist() == dilation_edges(painted, len(masks), t)
        hidden = [k for k in range(len(masks)) if not (painted == k + 1).any()]
        if i < 2:
            assert hidden  # the covered twin: a node without adjacency edges
        assert not np.isin(ei, hidden).any()


def test_whole_radius_and_knn_use_the_box_centres(chips):
    per_chip, images, ms = chips
    masks = per_chip[1]
    centres = np.array([(x + 0.5 * w, y + 0.5 * h) for x, y, w, h in map(mask_bbox_xywh, masks)])
    d = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1))
    gs = build_graphs(ms, images, **settings(mask_view="whole", edge_rule="radius", radius_px=12.0))
    expected = np.stack(np.nonzero((d <= 12.0) & ~np.eye(len(masks), dtype=bool)))
    np.testing.assert_array_equal(gs.graph(1)[1], expected)
    gs = build_graphs(ms, images, **settings(mask_view="whole", edge_rule="knn", k=1))
    nearest = np.argmin(d + np.diag(np.full(len(masks), np.inf)), axis=1)
    pairs = {(a, int(b)) for a, b in enumerate(nearest)}
    pairs |= {(b, a) for a, b in pairs}
    assert {tuple(e) for e in gs.graph(1)[1].T.tolist()} == pairs


@pytest.mark.parametrize("rule", ["adjacency", "complete", "radius", "knn"])
def test_visible_view_equals_the_former_label_map_pipeline(chips, rule):
    """Paint (smaller wins), drop masks left without pixels, renumber 1..K, then build_graph."""
    per_chip, images, ms = chips
    kw = dict(features=ALL, edge_rule=rule, tolerance_px=2, radius_px=15.0, k=2)
    gs = build_graphs(ms, images, **settings(mask_view="visible", **kw))
    for i, masks in enumerate(per_chip):
        painted = paint(masks, images.shape[1:3])
        present = np.unique(painted[painted > 0])
        remap = np.zeros(len(masks) + 1, dtype=np.uint8)
        remap[present] = np.arange(1, len(present) + 1)
        x, ei = build_graph(remap[painted], images[i], **kw)
        np.testing.assert_array_equal(gs.graph(i)[0], x)
        np.testing.assert_array_equal(gs.graph(i)[1], ei)


def test_bad_mask_view_and_image_shape(chips):
    _, images, ms = chips
    with pytest.raises(
        ValueError, match=r"mask_view 'painted' is unknown; expected one of \['whole', 'visible'\]"
    ):
        build_graphs(ms, images, **settings(mask_view="painted"))
    with pytest.raises(ValueError, match=r"images must be \(N=4, 40, 52, 3\) uint8 to match the masks"):
        build_graphs(ms, images[:, :, :50], **settings())
