"""Segmentation backends: SAM (tiny random-weight model through the real checkpoint path) against
segment-anything called directly, checkpoint errors, small-region removal, the classical
backend, post-processing, whole masks (run-length codec), the painted label map, masks files and
the overlay figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.masks import mask_bbox_xywh, overlapping_masks, paint, records_of_masks

from df4lcz.config import schema_defaults
from df4lcz.devices import resolve_device
from df4lcz.io.masks import read_masks, write_masks
from df4lcz.segmentation.classical import ClassicalSegmenter
from df4lcz.segmentation.labels import maskset_from_records, paint_labels, postprocess_masks, segment_images
from df4lcz.segmentation.overlays import plot_mask_overlays
from df4lcz.segmentation.protocol import make_segmenter
from df4lcz.segmentation.sam import SamSegmenter, build_tiny_sam, build_tiny_sam_checkpoint, load_sam
from df4lcz.segmentation.sam_compat import cv2_available, remove_small_regions

#: The schema's ``segment`` defaults (DF4LCZ's settings).
SEGMENT = schema_defaults("segment")
#: ``SamSegmenter`` keyword arguments of the schema defaults (device and generator settings).
SAM_KWARGS = {k: v for k, v in SEGMENT["sam"].items() if k not in ("model_type", "checkpoint")}

#: Generator settings under which the random tiny SAM keeps several masks.
LOOSE = dict(
    points_per_side=4,
    pred_iou_thresh=0.0,
    stability_score_thresh=0.0,
    box_nms_thresh=0.99,
    crop_n_layers=1,
    crop_nms_thresh=0.99,
    crop_n_points_downscale_factor=2,
)


def make_image(seed: int = 0, size: int = 96) -> np.ndarray:
    """Noise with two flat blocks (seeded)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    img[10:50, 5:45] = (200, 40, 40)
    img[60:90, 50:90] = (30, 160, 60)
    return img


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    return build_tiny_sam_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth", seed=0)


def record(area: int, tag: int) -> dict:
    seg = np.zeros((4, 4), bool)
    return {
        "segmentation": seg,
        "area": area,
        "bbox": [0, 0, 0, 0],
        "predicted_iou": float(tag),
        "stability_score": 1.0,
    }


def test_postprocess_sorts_filters_and_caps():
    recs = [record(a, i) for i, a in enumerate([30, 80, 49, 50, 200, 80])]
    out = postprocess_masks(recs, min_area=50, max_masks=3)
    assert [r["area"] for r in out] == [200, 80, 80]
    assert [r["predicted_iou"] for r in out] == [4.0, 1.0, 5.0]  # ties keep their order
    assert [r["area"] for r in postprocess_masks(recs, min_area=50, max_masks=50)] == [200, 80, 80, 50]


def test_postprocess_drops_empty_masks_even_without_min_area():
    recs = [record(a, i) for i, a in enumerate([0, 5, 0])]
    assert [r["area"] for r in postprocess_masks(recs, min_area=0, max_masks=50)] == [5]


def test_paint_labels_smaller_mask_wins_and_hidden_masks_keep_their_row():
    masks = overlapping_masks()
    ms = maskset_from_records([records_of_masks(masks)], (6, 6))
    assert ms.n_masks().tolist() == [4]  # every mask is kept whole, the covered one too
    labels = paint_labels(ms, 0)
    expected = np.where(masks[0], 1, 0)
    expected[masks[1]] = 2
    expected[masks[3]] = 4  # 'hidden' (3) lost its only pixel to 'tiny' (4): label 3 does not occur
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.uint8
    for k, m in enumerate(masks):
        np.testing.assert_array_equal(ms.mask(k), m)
    np.testing.assert_array_equal(ms.masks(0), np.stack(masks))


def test_paint_labels_many_masks_against_a_loop():
    """More than 52 masks (several coverage words) and more than 255 (uint16 labels)."""
    rng = np.random.default_rng(8)
    for n_masks in (3, 60, 300):
        masks = []
        for _ in range(n_masks):
            m = np.zeros((30, 41), bool)
            y, x = rng.integers(0, 30), rng.integers(0, 41)
            m[y : y + rng.integers(1, 12), x : x + rng.integers(1, 15)] = True
            masks.append(m)
        ms = maskset_from_records([records_of_masks(masks)], (30, 41))
        labels = paint_labels(ms, 0)
        np.testing.assert_array_equal(labels, paint(masks, (30, 41)))
        assert labels.dtype == (np.uint8 if n_masks <= 255 else np.uint16)


def test_mask_bbox_uses_sam_convention():
    m = np.zeros((10, 12), bool)
    m[2:5, 3:9] = True
    assert mask_bbox_xywh(m) == [3, 2, 5, 2]
    assert mask_bbox_xywh(np.zeros((3, 3), bool)) == [0, 0, 0, 0]


def test_remove_small_regions_holes_and_islands():
    m = np.zeros((12, 12), bool)
    m[1:8, 1:8] = True
    m[3:5, 3:5] = False  # 4-px hole
    m[10, 10] = m[10, 11] = True  # 2-px island
    filled, changed = remove_small_regions(m, 5, "holes")
    assert changed and filled[3:5, 3:5].all() and filled.sum() == m.sum() + 4
    cleaned, changed = remove_small_regions(filled, 5, "islands")
    assert changed and not cleaned[10, 10:].any() and cleaned.sum() == 49
    same, changed = remove_small_regions(cleaned, 5, "islands")
    assert not changed and np.array_equal(same, cleaned)
    only_small = np.zeros((8, 8), bool)
    only_small[0, 0] = True
    only_small[5, 5:8] = True
    kept, changed = remove_small_regions(only_small, 10, "islands")  # all small: keep the largest
    assert changed and kept.sum() == 3 and kept[5, 5:8].all()
    with pytest.raises(ValueError, match="mode must be 'holes' or 'islands'"):
        remove_small_regions(m, 5, "edges")


@pytest.mark.skipif(not cv2_available(), reason="OpenCV not installed; the scikit-image path is in use")
def test_remove_small_regions_matches_opencv():
    from segment_anything.utils.amg import remove_small_regions as upstream

    rng = np.random.default_rng(0)
    for _ in range(20):
        m = rng.random((40, 40)) < 0.5
        for mode in ("holes", "islands"):
            ours, ch1 = remove_small_regions(m, 6, mode)
            theirs, ch2 = upstream(m, 6, mode)
            assert ch1 == ch2 and np.array_equal(ours, theirs)


def test_tiny_sam_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_tiny_sam(seed=0).state_dict()
    assert torch.rand(1).item() == before.item()
    b = build_tiny_sam(seed=0).state_dict()
    c = build_tiny_sam(seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_sam_segmenter_equals_direct_generator(tiny_ckpt):
    from segment_anything import SamAutomaticMaskGenerator

    image = make_image()
    ours = SamSegmenter("tiny", tiny_ckpt, device="cpu", min_mask_region_area=0, **LOOSE).segment(image)
    model = build_tiny_sam(seed=0)
    direct = SamAutomaticMaskGenerator(model, min_mask_region_area=0, **LOOSE).generate(image)
    assert len(ours) >= 2 and len(ours) == len(direct)
    for o, d in zip(ours, direct):
        assert set(o) == {"segmentation", "area", "bbox", "predicted_iou", "stability_score"}
        np.testing.assert_array_equal(o["segmentation"], d["segmentation"])
        assert o["area"] == d["area"] == int(o["segmentation"].sum())
        assert o["bbox"] == [int(v) for v in d["bbox"]] == mask_bbox_xywh(o["segmentation"])
        assert o["predicted_iou"] == pytest.approx(d["predicted_iou"])
        assert o["stability_score"] == pytest.approx(d["stability_score"])


def test_sam_paper_settings_survive_the_empty_crop_bug(tiny_ckpt):
    """With the paper's thresholds nothing survives on the random model; upstream raises."""
    from segment_anything import SamAutomaticMaskGenerator

    image = make_image()
    paper = dict(
        points_per_side=4,
        pred_iou_thresh=0.88,
        stability_score_thresh=0.92,
        box_nms_thresh=0.4,
        crop_n_layers=1,
        crop_nms_thresh=0.4,
        crop_n_points_downscale_factor=2,
    )
    with pytest.raises(IndexError):
        SamAutomaticMaskGenerator(build_tiny_sam(0), min_mask_region_area=0, **paper).generate(image)
    assert SamSegmenter("tiny", tiny_ckpt, device="cpu", min_mask_region_area=0, **paper).segment(image) == []


def test_sam_small_region_postprocessing(tiny_ckpt):
    seg = SamSegmenter("tiny", tiny_ckpt, device="cpu", min_mask_region_area=30, **LOOSE)
    assert seg.describe()["small_region_backend"] == ("opencv" if cv2_available() else "scikit-image")
    from skimage.measure import label

    for rec in seg.segment(make_image()):
        m = rec["segmentation"]
        islands = np.bincount(label(m, connectivity=2).ravel())[1:]
        holes = np.bincount(label(~m, connectivity=2).ravel())[1:]
        assert len(islands) == 1 or islands.min() >= 30
        assert len(holes) == 0 or holes.min() >= 30
        assert rec["bbox"] == mask_bbox_xywh(m) and rec["area"] == int(m.sum())


def test_missing_checkpoint_explains_how_to_get_it(tmp_path):
    message = r"tiny checkpoint not found; create it with .*build_tiny_sam_checkpoint"
    with pytest.raises(FileNotFoundError, match=message):
        SamSegmenter("tiny", tmp_path / "nope.pth", **SAM_KWARGS)
    with pytest.raises(
        FileNotFoundError,
        match=r"vit_b checkpoint not found.*download_checkpoint.*"
        r"dl\.fbaipublicfiles\.com/segment_anything/sam_vit_b_01ec64\.pth"
        r".*ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
    ):
        load_sam("vit_b", tmp_path / "sam_vit_b_01ec64.pth", SAM_KWARGS["device"])


def test_corrupt_and_wrong_checkpoints_are_named(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"junk\.pth: not a readable PyTorch checkpoint"):
        SamSegmenter("tiny", junk, **SAM_KWARGS)
    other = tmp_path / "linear.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(ValueError, match=r"linear\.pth: checkpoint does not match the SAM 'tiny' architectu"):
        SamSegmenter("tiny", other, **SAM_KWARGS)
    with pytest.raises(ValueError, match="SAM model_type 'vit_x' is unknown"):
        load_sam("vit_x", other, SAM_KWARGS["device"])


def test_resolve_device():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")


@pytest.mark.parametrize("method", ["felzenszwalb", "slic"])
def test_classical_records_tile_the_image(method):
    image = make_image(1)
    seg = ClassicalSegmenter(**{**SEGMENT["classical"], "method": method, "scale": 100, "n_segments": 20})
    recs = seg.segment(image)
    assert len(recs) >= 3
    cover = np.sum([r["segmentation"] for r in recs], axis=0)
    assert (cover == 1).all()  # every pixel in exactly one region
    for r in recs:
        assert r["area"] == int(r["segmentation"].sum())
        assert r["bbox"] == mask_bbox_xywh(r["segmentation"])
        assert np.isnan(r["predicted_iou"]) and np.isnan(r["stability_score"])
    with pytest.raises(ValueError, match="classical method 'watershed' is unknown"):
        ClassicalSegmenter(**{**SEGMENT["classical"], "method": "watershed"})


def test_segment_images_and_masks_file(tmp_path):
    images = np.stack([make_image(0), make_image(1), np.zeros((96, 96, 3), np.uint8)])
    seg = ClassicalSegmenter(**{**SEGMENT["classical"], "scale": 100, "min_size": 20})
    ms = segment_images(images, seg, min_area=50, max_masks=10)
    assert (ms.height, ms.width) == (96, 96) and ms.mask_ptr[0] == 0 and len(ms.mask_ptr) == 4
    for i in range(3):
        # the whole masks are the segmenter's records, post-processed independently here
        recs = [r for r in seg.segment(images[i]) if r["area"] >= 50]
        recs = sorted(recs, key=lambda r: r["area"], reverse=True)[:10]
        sl = slice(ms.mask_ptr[i], ms.mask_ptr[i + 1])
        assert ms.mask_ptr[i + 1] - ms.mask_ptr[i] == len(recs)
        expected = np.array([r["segmentation"] for r in recs]).reshape(-1, 96, 96)
        np.testing.assert_array_equal(ms.masks(i), expected)
        assert ms.area[sl].tolist() == [r["area"] for r in recs]
        assert ms.bbox[sl].tolist() == [r["bbox"] for r in recs]
        np.testing.assert_array_equal(paint_labels(ms, i), paint(expected, (96, 96)))
    # the flat black chip is one region covering everything
    assert ms.area[ms.mask_ptr[2]] == 96 * 96
    path = tmp_path / "masks" / "0.h5"
    write_masks(path, np.array([7, 8, 9]), ms, {"shard": 0})
    ids, back = read_masks(path)
    assert ids.tolist() == [7, 8, 9] and (back.height, back.width) == (96, 96)
    for name in ("mask_ptr", "rle_ptr", "rle_counts", "bbox", "area"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ms, name))
    assert back.rle_counts.dtype == np.uint32 and np.isnan(back.predicted_iou).all()
    assert back.params["backend"] == "classical" and back.params["method"] == "felzenszwalb"
    assert back.params["scale"] == 100 and back.params["min_area"] == 50 and back.params["max_masks"] == 10
    assert "background first" in back.params["mask_encoding"] and back.params["shard"] == 0


def test_segment_images_with_tiny_sam_keeps_generator_masks_whole(tiny_ckpt, tmp_path):
    """Mask for mask, the masks file holds what SamAutomaticMaskGenerator.generate returns
    (filtered by area, largest first, capped) — overlapping masks included, nothing painted."""
    from segment_anything import SamAutomaticMaskGenerator

    settings = {"model_type": "tiny", "device": "cpu", "min_mask_region_area": 0, **LOOSE}
    seg = make_segmenter("sam", settings, checkpoint=tiny_ckpt)
    images = np.stack([make_image(0), make_image(3)])
    ms = segment_images(images, seg, min_area=10, max_masks=5)
    write_masks(tmp_path / "m.h5", np.array([0, 1]), ms)
    _, ms = read_masks(tmp_path / "m.h5")
    assert ms.params["backend"] == "sam" and ms.params["model_type"] == "tiny"
    assert ms.params["points_per_side"] == 4
    generator = SamAutomaticMaskGenerator(build_tiny_sam(seed=0), min_mask_region_area=0, **LOOSE)
    overlaps = 0
    for i, image in enumerate(images):
        direct = sorted((d for d in generator.generate(image) if d["area"] >= 10), key=lambda d: -d["area"])[
            :5
        ]
        sl = slice(ms.mask_ptr[i], ms.mask_ptr[i + 1])
        assert 1 <= len(direct) == ms.mask_ptr[i + 1] - ms.mask_ptr[i]
        for k, d in enumerate(direct):
            np.testing.assert_array_equal(ms.mask(ms.mask_ptr[i] + k), d["segmentation"])
        assert ms.area[sl].tolist() == [d["area"] for d in direct]
        assert ms.bbox[sl].tolist() == [[int(v) for v in d["bbox"]] for d in direct]
        np.testing.assert_allclose(ms.predicted_iou[sl], [d["predicted_iou"] for d in direct], rtol=1e-5)
        np.testing.assert_allclose(ms.stability_score[sl], [d["stability_score"] for d in direct], rtol=1e-5)
        overlaps += int((np.sum([d["segmentation"] for d in direct], axis=0) > 1).sum())
    assert overlaps > 0  # the random SAM's masks overlap: they are stored whole, not painted


def test_overlay_figure(tmp_path):
    images = np.stack([make_image(i) for i in range(3)])
    ms = segment_images(
        images,
        ClassicalSegmenter(**{**SEGMENT["classical"], "scale": 100}),
        min_area=SEGMENT["min_area"],
        max_masks=8,
    )
    path = tmp_path / "fig" / "overlay.png"
    out = plot_mask_overlays(images, ms, np.array([2, 14, 2]), path, per_class=2)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="differ in length"):
        plot_mask_overlays(
            images, ms, np.array([2]), tmp_path / "x.png", per_class=SEGMENT["overlay_samples_per_class"]
        )


# --------------------------------------------------------------------------------------------
# Official checkpoints: table, sha256 verification, download (offline, via file:// URLs)
# --------------------------------------------------------------------------------------------


def test_checkpoint_table():
    from df4lcz.segmentation.checkpoints import SAM_CHECKPOINTS

    assert {k: v.filename for k, v in SAM_CHECKPOINTS.items()} == {
        "vit_h": "sam_vit_h_4b8939.pth",
        "vit_l": "sam_vit_l_0b3195.pth",
        "vit_b": "sam_vit_b_01ec64.pth",
    }
    for info in SAM_CHECKPOINTS.values():
        assert info.url == "https://dl.fbaipublicfiles.com/segment_anything/" + info.filename
        assert len(info.sha256) == 64 and int(info.sha256, 16) >= 0


@pytest.fixture()
def fake_vit_b(tmp_path, monkeypatch):
    """A small file registered as the official vit_b checkpoint (hash computed by hashlib here)."""
    import hashlib

    from df4lcz.segmentation import checkpoints as sc

    payload = np.random.default_rng(5).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    source = tmp_path / "mirror" / "sam_vit_b_01ec64.pth"
    source.parent.mkdir()
    source.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    entry = sc.SamCheckpoint("vit_b", source.name, source.as_uri(), digest, 1)
    monkeypatch.setitem(sc.SAM_CHECKPOINTS, "vit_b", entry)
    return {"source": source, "digest": digest, "payload": payload}


def test_verify_checkpoint(tmp_path, fake_vit_b):
    from df4lcz.segmentation.checkpoints import ChecksumError, verify_checkpoint

    assert verify_checkpoint(fake_vit_b["source"], "vit_b") == fake_vit_b["digest"]
    bad = tmp_path / "bad.pth"
    bad.write_bytes(fake_vit_b["payload"][:-1])
    expected = r"bad\.pth: sha256 [0-9a-f]{64} does not match the official sam_vit_b_01ec64\.pth"
    with pytest.raises(ChecksumError, match=rf"{expected} \({fake_vit_b['digest']}\)"):
        verify_checkpoint(bad, "vit_b")
    with pytest.raises(FileNotFoundError, match=r"absent\.pth: SAM vit_b checkpoint not found"):
        verify_checkpoint(tmp_path / "absent.pth", "vit_b")
    with pytest.raises(ValueError, match=r"model_type 'tiny' has no official SAM checkpoint"):
        verify_checkpoint(bad, "tiny")


def test_download_checkpoint_streams_and_verifies(tmp_path, fake_vit_b):
    from df4lcz.segmentation.checkpoints import ChecksumError, download_checkpoint

    dest = tmp_path / "resources" / "sam" / "sam_vit_b_01ec64.pth"
    assert download_checkpoint("vit_b", dest) == dest
    assert dest.read_bytes() == fake_vit_b["payload"]
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no temporary left
    # a mirror serving other bytes: error, nothing written
    other = tmp_path / "other.pth"
    other.write_bytes(b"not the model")
    dest2 = tmp_path / "second" / "sam_vit_b_01ec64.pth"
    with pytest.raises(ChecksumError, match=r"downloaded file has sha256 .* nothing was written"):
        download_checkpoint("vit_b", dest2, url=other.as_uri())
    assert not dest2.exists() and list(dest2.parent.iterdir()) == []


def test_download_failure_explains_manual_install(tmp_path, fake_vit_b):
    from df4lcz.segmentation.checkpoints import download_checkpoint

    dest = tmp_path / "sam_vit_b_01ec64.pth"
    missing = (tmp_path / "offline" / "x.pth").as_uri()
    with pytest.raises(ConnectionError) as info:
        download_checkpoint("vit_b", dest, url=missing)
    text = str(info.value)
    assert "could not download the SAM vit_b checkpoint" in text
    assert fake_vit_b["source"].as_uri() in text  # the official URL to fetch by hand
    assert str(dest) in text and fake_vit_b["digest"] in text
    assert not dest.exists()
