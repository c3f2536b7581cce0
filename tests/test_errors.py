"""The error classes of df4lcz.errors are raised where the problem is known (docs/contracts.md, "Errors").

Each bad file below raises the class that says whose fault it is (an input the user gave: InputError;
a stage file under results/ that breaks its contract: ContractError; a config value: ConfigError),
still a ValueError for callers that catch that, with a message naming the file or the key.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import TINY_CRS, TINY_X0, TINY_Y1, write_raster
from rasterio.transform import from_origin
from shapely.geometry import box

from df4lcz.chipping.sentinel2 import open_sentinel2
from df4lcz.errors import ConfigError, ContractError, Df4lczError, InputError
from df4lcz.io.chips import read_chips
from df4lcz.io.hdf5 import write_h5
from df4lcz.mapping.tiles import read_plan
from df4lcz.sampling.grid import assign_ids_and_shards
from df4lcz.sampling.labels import read_labels


def _raises(cls: type[Df4lczError], call, *args, **kwargs) -> str:
    """The message of the ``cls`` that ``call(*args, **kwargs)`` raises; checks it is a ``ValueError``."""
    with pytest.raises(cls) as err:
        call(*args, **kwargs)
    assert isinstance(err.value, ValueError) and isinstance(err.value, Df4lczError)
    others = {InputError, ContractError, ConfigError} - {cls}
    assert not isinstance(err.value, tuple(others))
    return str(err.value)


def _labels(path, rows):
    gpd.GeoDataFrame({"lcz": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=TINY_CRS).to_file(path)
    return path


def test_sentinel2_raster_with_the_wrong_band_count_is_an_input_error(tmp_path):
    data = np.ones((4, 8, 8), np.uint16)
    path = write_raster(tmp_path / "four.tif", data, TINY_CRS, from_origin(TINY_X0, TINY_Y1, 10, 10))
    msg = _raises(InputError, open_sentinel2, path)
    assert msg.startswith(f"{path}: found 4 band(s) and no band descriptions")
    msg = _raises(InputError, open_sentinel2, path, band_names=["B02", "B03"])
    assert msg.startswith(f"{path}: regions[].s2_band_names has 2 names but the file has 4 bands")


def test_sentinel2_raster_without_crs_is_an_input_error(tmp_path):
    path = write_raster(
        tmp_path / "nocrs.tif", np.ones((10, 8, 8), np.uint16), None, from_origin(TINY_X0, TINY_Y1, 10, 10)
    )
    assert _raises(InputError, open_sentinel2, path).startswith(f"{path}: raster has no CRS")


def test_overlapping_labels_and_unknown_codes_are_input_errors(tmp_path):
    a = box(TINY_X0 + 30, TINY_Y1 - 700, TINY_X0 + 1010, TINY_Y1 - 30)
    b = box(TINY_X0 + 500, TINY_Y1 - 1000, TINY_X0 + 1010, TINY_Y1 - 400)
    clash = _labels(tmp_path / "clash.gpkg", [(2, a), (5, b)])
    msg = _raises(InputError, read_labels, clash, TINY_CRS, "lcz", {})
    assert msg.startswith(f"{clash}: 1 pair(s) of polygons of different classes overlap")
    unknown = _labels(tmp_path / "unknown.gpkg", [(25, a)])
    msg = _raises(InputError, read_labels, unknown, TINY_CRS, "lcz", {})
    assert msg.startswith(f"{unknown}: column 'lcz' has class code(s) [25] outside 1–17")


def test_corrupt_or_foreign_chip_files_are_contract_errors(tmp_path):
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)  # an HDF5 signature, then garbage
    assert _raises(ContractError, read_chips, corrupt, "sentinel2").startswith(f"{corrupt}: not a readable")
    foreign = tmp_path / "foreign.h5"
    write_h5(foreign, {"sample_id": np.arange(3, dtype=np.int64)})
    msg = _raises(ContractError, read_chips, foreign, "sentinel2")
    assert msg.startswith(f"{foreign}: missing dataset(s) ['image']")
    wrong = tmp_path / "wrong.h5"
    write_h5(wrong, {"sample_id": np.arange(2, dtype=np.int64), "image": np.zeros((2, 8, 8, 10), np.float32)})
    assert _raises(ContractError, read_chips, wrong, "sentinel2").startswith(f"{wrong}: attr 'bands' is None")


def test_a_tile_plan_that_is_not_one_is_a_contract_error(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text('{"format": "something else"}', encoding="utf-8")
    assert _raises(ContractError, read_plan, path).startswith(f"{path}: expected a map tile plan")


def test_a_bad_config_value_seen_by_the_library_is_a_config_error():
    msg = _raises(ConfigError, assign_ids_and_shards, [], 0)
    assert msg.startswith("config key 'samples.shard_size'")
