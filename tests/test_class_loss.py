"""Samples lost per class, and why (issue 24): a Google raster covering half the labelled area.

The tiny region's Google raster is cut to its northern part, 1,360 m below the top of the
Sentinel-2 raster: polygon 0 (LCZ 2, 6 squares) stays covered, polygon 1 (LCZ 14, 2 × 2 squares
from 1,030 to 1,670 m below the top) keeps its northern row, and polygon 2 (LCZ 17, 1,200–1,900 m
below, half of it east of the Sentinel-2 raster) loses every square.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from conftest import TINY_CRS, TINY_X0, TINY_Y1
from helpers.logs import warning_messages
from helpers.sampling import region_inputs
from pyproj import Transformer
from rasterio.windows import Window
from test_input_checks import _content, _samples_job, _samples_outputs

from df4lcz.config import schema_defaults
from df4lcz.errors import InputError
from df4lcz.evaluation.summary import CLASS_LOSS_CAPTION
from df4lcz.evaluation.summary_pages import summary_markdown
from df4lcz.io.checks import read_checks
from df4lcz.io.chips import write_chips
from df4lcz.io.class_loss import KEPT, read_class_loss
from df4lcz.sampling.class_loss import OUTSIDE_BOTH, OUTSIDE_GOOGLE, class_loss_table
from df4lcz.scripting import Job, NamedFiles
from df4lcz.stages import samples as samples_stage
from df4lcz.stages import valid_samples as valid_stage

#: Metres below the top of the Sentinel-2 raster where the partial Google raster ends.
CUT_M = 1360.0


def _partial_google(tiny_region: dict, path: Path) -> str:
    """The tiny Google raster (EPSG:3857) without its rows south of ``TINY_Y1 - CUT_M``."""
    _, y = Transformer.from_crs(TINY_CRS, "EPSG:3857", always_xy=True).transform(
        TINY_X0 + 1000, TINY_Y1 - CUT_M
    )
    with rasterio.open(tiny_region["google"]) as src:
        rows = int(np.ceil((src.transform.f - y) / -src.transform.e))
        data = src.read(window=Window(0, 0, src.width, rows))
        profile = {**src.profile, "height": rows}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return str(path)


@pytest.fixture()
def half(tiny_region, tmp_path) -> dict:
    google = _partial_google(tiny_region, tmp_path / "google_half.tif")
    region = region_inputs("tiny", google, tiny_region["sentinel2"], tiny_region["labels"])
    return {
        "google": google,
        "s2": tiny_region["sentinel2"],
        "region": vars(region),
        "out": _samples_outputs(tmp_path),
    }


def _account(table: pd.DataFrame) -> dict[tuple[int, str], int]:
    return {(int(r.lcz), r.reason): int(r.samples) for r in table.itertuples()}


def test_partial_google_stops_the_samples_rule_naming_class_counts_and_file(half):
    job = _samples_job(half["region"], half["out"])  # samples.max_class_loss_fraction: 1 (the default)
    with pytest.raises(InputError) as err:
        samples_stage.run(job)
    msg = str(err.value)
    assert msg.startswith(
        "1 class(es) lost 100 % of their squares or more (samples.max_class_loss_fraction = 1): "
    )
    assert (
        f"LCZ 17 (G Water) lost 6 of its 6 squares (100.0 %): 2 {OUTSIDE_GOOGLE} {half['google']}; "
        f"4 {OUTSIDE_BOTH} {half['google']} and {half['s2']}. Expected rasters covering" in msg
    )
    assert "LCZ 14" not in msg  # half lost: below the limit
    assert not any(Path(p).exists() for p in half["out"].values())  # before any output, before any chip job


def test_partial_google_recorded_per_class_and_reason_with_warnings(half, records):
    job = _samples_job(
        half["region"], half["out"], max_class_loss_fraction=None, warn_class_loss_fraction=0.4
    )
    samples_stage.run(job)
    rows = [r for r in read_checks(half["out"]["checks"]) if r.check == "class_loss"]
    assert [(r.subject, r.level, r.value, r.threshold) for r in rows] == [
        ("LCZ 14", "warning", 0.5, 0.4),
        ("LCZ 17", "warning", 1.0, 0.4),
    ]
    assert rows[0].message == (
        f"LCZ 14 (D Low plants) lost 2 of its 4 squares (50.0 %): 2 {OUTSIDE_GOOGLE} {half['google']}; 2 kept "
        "(warning above samples.warn_class_loss_fraction = 0.4)"
    )
    assert rows[1].message.startswith("LCZ 17 (G Water) lost all 6 of its 6 squares (100.0 %)")
    assert {r.message for r in rows} <= set(warning_messages(records))
    account = read_class_loss(half["out"]["class_loss"])
    assert _account(account) == {
        (2, KEPT): 6,
        (14, KEPT): 2,
        (14, OUTSIDE_GOOGLE): 2,
        (17, KEPT): 0,
        (17, OUTSIDE_GOOGLE): 2,
        (17, OUTSIDE_BOTH): 4,
    }
    assert set(account.loc[account.reason == OUTSIDE_GOOGLE, "subject"]) == {half["google"]}
    samples = pd.read_parquet(half["out"]["table"])
    assert samples.groupby("lcz").size().to_dict() == {2: 6, 14: 2}


def test_a_class_lost_entirely_is_a_warning_even_under_the_share(half):
    job = _samples_job(
        half["region"], half["out"], max_class_loss_fraction=None, warn_class_loss_fraction=1.0
    )
    samples_stage.run(job)
    rows = [r for r in read_checks(half["out"]["checks"]) if r.check == "class_loss"]
    assert [(r.subject, r.level) for r in rows] == [("LCZ 14", "info"), ("LCZ 17", "warning")]


def _valid_job(
    tmp_path: Path, samples_out: dict, chips: dict[str, list[str]], **settings
) -> tuple[Job, dict]:
    out = {
        k: str(tmp_path / "v" / f)
        for k, f in (("table", "valid.csv"), ("checks", "vchecks.csv"), ("class_loss", "vloss.csv"))
    }
    files = {**chips, "samples": samples_out["table"], "class_loss": [samples_out["class_loss"]]}
    items = [f for v in files.values() for f in (v if isinstance(v, list) else [v])]
    job = Job(
        rule="valid_samples",
        input=NamedFiles(items, files),
        output=NamedFiles(list(out.values()), out),
        params={
            "streams": list(chips),
            "samples": {
                k: {**schema_defaults("samples"), **settings}[k]
                for k in ("warn_class_loss_fraction", "max_class_loss_fraction")
            },
        },
        wildcards={},
        log=NamedFiles([]),
    )
    return job, out


def _chip_file(path: Path, stream: str, ids, excluded: dict[int, str], source: str) -> str:
    keep = np.array([i for i in ids if i not in excluded], dtype=np.int64)
    ex = pd.DataFrame({"sample_id": np.array(list(excluded), np.int64), "reason": list(excluded.values())})
    if stream == "google":
        images = np.zeros((len(keep), 8, 8, 3), np.uint8)
        write_chips(path, stream, keep, images, ex, attrs={"source": source})
    else:
        images = np.full((len(keep), 32, 32, 10), 0.1, np.float32)
        attrs = {"source": source, "reflectance_scale": [1e4] * 10, "reflectance_offset": [0.0] * 10}
        write_chips(path, stream, keep, images, ex, attrs=attrs)
    return str(path)


def test_valid_samples_adds_nodata_and_clouds_to_the_account_and_the_summary_shows_it(
    half, tmp_path, records
):
    samples_stage.run(
        _samples_job(half["region"], half["out"], max_class_loss_fraction=None, warn_class_loss_fraction=0.5)
    )
    samples = pd.read_parquet(half["out"]["table"])
    ids = samples.sample_id.tolist()
    lcz2 = samples.loc[samples.lcz == 2, "sample_id"].tolist()
    lcz14 = samples.loc[samples.lcz == 14, "sample_id"].tolist()
    chips = {
        "google": [
            _chip_file(
                tmp_path / "g.h5",
                "google",
                ids,
                {lcz2[0]: "partial coverage: 12.5% of the chip has no data"},
                half["google"],
            )
        ],
        "sentinel2": [
            _chip_file(
                tmp_path / "s.h5",
                "sentinel2",
                ids,
                {
                    lcz2[0]: "nodata: 3 px",
                    lcz14[
                        0
                    ]: "cloud: cloud/shadow fraction 0.8 above sentinel2.max_cloud_fraction 0.2 in S2B.SAFE",
                },
                half["s2"],
            )
        ],
    }
    job, out = _valid_job(tmp_path, half["out"], chips, max_class_loss_fraction=None)
    valid_stage.run(job)
    account = read_class_loss(out["class_loss"])
    assert _account(account) == {
        (2, KEPT): 5,
        (2, "google: partial coverage"): 1,  # also nodata in Sentinel-2: counted under the first stream
        (14, KEPT): 1,
        (14, OUTSIDE_GOOGLE): 2,
        (14, "sentinel2: cloud"): 1,
        (17, KEPT): 0,
        (17, OUTSIDE_GOOGLE): 2,
        (17, OUTSIDE_BOTH): 4,
    }
    assert account.loc[account.reason == "sentinel2: cloud", "subject"].tolist() == [half["s2"]]
    rows = read_checks(out["checks"])
    assert [(r.stage, r.subject, r.level, round(r.value, 4)) for r in rows] == [
        ("valid_samples", "LCZ 2", "info", round(1 / 6, 4)),
        ("valid_samples", "LCZ 14", "warning", 0.75),
        ("valid_samples", "LCZ 17", "warning", 1.0),
    ]
    assert rows[1].message == (
        f"LCZ 14 (D Low plants) lost 3 of its 4 samples (75.0 %): 2 {OUTSIDE_GOOGLE} {half['google']}; "
        f"1 sentinel2: cloud {half['s2']}; 1 kept (warning above samples.warn_class_loss_fraction = 0.5)"
    )
    assert rows[1].message in warning_messages(records)

    header, body = class_loss_table(account)
    assert header == [
        "LCZ",
        "name",
        "kept",
        "lost",
        "google: partial coverage",
        OUTSIDE_GOOGLE,
        "sentinel2: cloud",
        OUTSIDE_BOTH,
    ]
    assert body == [
        ["2", "Compact mid-rise", "5", "1 (16.7 %)", "1", "0", "0", "0"],
        ["14", "D Low plants", "1", "3 (75.0 %)", "0", "2", "1", "0"],
        ["17", "G Water", "0", "6 (100.0 %)", "0", "2", "0", "4"],
    ]
    content = _content(tmp_path, rows, class_loss=(header, body))
    md = summary_markdown(content, tmp_path / "s.md")
    section = md.split("## Input checks\n\n")[1].split("\n\n## Models")[0]
    assert section.splitlines() == [
        f"- {rows[1].message}",
        f"- {rows[2].message}",
        "",
        CLASS_LOSS_CAPTION,
        "",
        "| " + " | ".join(header) + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        "| 2 | Compact mid-rise | 5 | 1 (16.7 %) | 1 | 0 | 0 | 0 |",
        "| 14 | D Low plants | 1 | 3 (75.0 %) | 0 | 2 | 1 | 0 |",
        "| 17 | G Water | 0 | 6 (100.0 %) | 0 | 2 | 0 | 4 |",
    ]
    # only info rows: no table
    quiet = _content(tmp_path, rows[:1], class_loss=(header, body))
    assert quiet.class_loss is None and CLASS_LOSS_CAPTION not in summary_markdown(quiet, tmp_path / "s.md")


def test_valid_samples_stops_above_the_limit_before_writing(half, tmp_path):
    samples_stage.run(_samples_job(half["region"], half["out"], max_class_loss_fraction=None))
    samples = pd.read_parquet(half["out"]["table"])
    ids = samples.sample_id.tolist()
    lcz14 = samples.loc[samples.lcz == 14, "sample_id"].tolist()
    chips = {
        "sentinel2": [
            _chip_file(tmp_path / "s.h5", "sentinel2", ids, {i: "nodata: all" for i in lcz14}, half["s2"])
        ]
    }
    job, out = _valid_job(tmp_path, half["out"], chips, max_class_loss_fraction=0.9)
    with pytest.raises(InputError) as err:
        valid_stage.run(job)
    msg = str(err.value)
    assert msg.startswith(
        "2 class(es) lost 90 % of their samples or more (samples.max_class_loss_fraction = 0.9): "
    )
    assert (
        f"LCZ 14 (D Low plants) lost 4 of its 4 samples (100.0 %): 2 {OUTSIDE_GOOGLE} {half['google']}; 2 sentinel2: nodata {half['s2']}"
        in msg
    )
    assert not any(Path(p).exists() for p in out.values())
