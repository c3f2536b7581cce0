"""The masks file's whole masks: the run-length codec and the validator's messages."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.masks import overlapping_masks, records_of_masks

from df4lcz.io.masks import read_masks, write_masks
from df4lcz.io.rle import decode_mask, encode_mask, encode_masks, foreground_runs
from df4lcz.segmentation.labels import maskset_from_records


def test_rle_round_trip_and_runs():
    rng = np.random.default_rng(9)
    masks = [rng.random((7, 9)) < p for p in (0.0, 0.3, 0.7, 1.0)]
    masks[1][0, 0] = True  # mask starting on pixel 0: leading background count 0
    masks[2][0, 0] = False
    for m in masks:
        counts = encode_mask(m)
        assert counts.dtype == np.uint32 and int(counts.sum()) == m.size
        assert (counts[0] == 0) == bool(m.flat[0]) and (counts[1:] > 0).all()
        np.testing.assert_array_equal(decode_mask(counts, m.shape), m)
    counts, ptr = encode_masks(masks)
    mask_of, start, stop = foreground_runs(counts, ptr)
    for k, m in enumerate(masks):
        flat = np.zeros(m.size, bool)
        for s_, e_ in zip(start[mask_of == k], stop[mask_of == k]):
            assert not flat[s_:e_].any()
            flat[s_:e_] = True
        np.testing.assert_array_equal(flat, m.ravel())
    assert encode_mask(masks[0]).tolist() == [63] and encode_mask(masks[3]).tolist() == [0, 63]


def test_masks_file_rejects_inconsistent_runs(tmp_path):
    ms = maskset_from_records([records_of_masks(overlapping_masks())], (6, 6))
    bad = maskset_from_records([records_of_masks(overlapping_masks())], (6, 6))
    bad.rle_counts[0] += 1
    with pytest.raises(
        ValueError, match=r"m\.h5: the run lengths of mask 0 sum to 37; expected height\*width = 36"
    ):
        write_masks(tmp_path / "m.h5", np.array([1]), bad)
    bad = maskset_from_records([records_of_masks(overlapping_masks())], (6, 6))
    bad.area[1] = 3
    with pytest.raises(ValueError, match=r"mask 1 has 8 pixels in rle_counts but area 3"):
        write_masks(tmp_path / "m.h5", np.array([1]), bad)
    bad = maskset_from_records([records_of_masks(overlapping_masks())], (6, 6))
    bad.bbox[0, 2] = 6
    with pytest.raises(ValueError, match=r"bbox \(XYWH\) outside the 6 × 6 chip"):
        write_masks(tmp_path / "m.h5", np.array([1]), bad)
    write_masks(tmp_path / "ok.h5", np.array([1]), ms)
    # a file of the former label-map format is named with what is missing
    import h5py

    with h5py.File(tmp_path / "old.h5", "w") as f:
        for name in ("sample_id", "labels", "mask_ptr", "bbox", "area", "predicted_iou", "stability_score"):
            f[name] = np.zeros(1)
    with pytest.raises(ValueError, match=r"old\.h5: missing dataset\(s\) \['rle_ptr', 'rle_counts'\]"):
        read_masks(tmp_path / "old.h5")
