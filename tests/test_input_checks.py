"""Degenerate runs say so (issue #15, item 5): warnings in the log, rows in the input-check record,
a line in the summary, and an error naming the config key beyond its limit.

Cases: label polygons repaired into nothing (``samples.max_dropped_polygon_fraction``), chips
without mask and one-node graphs (``graphs.max_single_node_fraction``), a Google mosaic of ~3.4 m
pixels upsampled onto the 1 m chip grid; and the record's file format.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CRS, TINY_X0, TINY_Y1
from helpers.logs import warning_messages
from helpers.masks import records_of_masks
from helpers.sampling import region_inputs, sample_params
from pyproj import Transformer
from shapely.geometry import Polygon, box

from df4lcz.config import schema_defaults
from df4lcz.evaluation.summary import (
    MAX_CHECK_LINES,
    NO_CHECK_TEXT,
    check_lines,
    summary_content,
)
from df4lcz.evaluation.summary_pages import summary_html, summary_markdown
from df4lcz.graphs.degenerate import SINGLE_NODE_WARN_FRACTION, check_single_node_graphs
from df4lcz.io.checks import CHECK_COLUMNS, CheckRow, read_checks, warnings_of, write_checks
from df4lcz.io.chips import write_chips
from df4lcz.io.graphs import SINGLE_NODE_ATTR, ZERO_MASK_ATTR, GraphSet, read_graph_attrs, write_graphs
from df4lcz.io.masks import write_masks
from df4lcz.io.tables import METRIC_COLUMNS
from df4lcz.sampling.build import build_samples
from df4lcz.sampling.labels import check_dropped_polygons, label_check_rows, load_labels
from df4lcz.scripting import Job, NamedFiles
from df4lcz.segmentation.labels import maskset_from_records
from df4lcz.stages import graph_checks as graph_checks_stage
from df4lcz.stages import samples as samples_stage
from df4lcz.stages.graphs import graphs_shard_file

GRAPHS = schema_defaults("graphs")
GOOGLE = schema_defaults("google")
KEY_DROPPED = "samples.max_dropped_polygon_fraction"
KEY_SINGLE = "graphs.max_single_node_fraction"

# invalid polygons south of the tiny region's labelled ones: a ring of collinear points (make_valid
# leaves a line: no area) and a bow-tie (make_valid leaves two triangles of 800·300/2 m²)
_X, _Y = TINY_X0 + 1100, TINY_Y1 - 900
COLLINEAR = Polygon([(_X, _Y), (_X + 100, _Y + 100), (_X + 200, _Y + 200), (_X, _Y)])
BOWTIE = Polygon([(_X, _Y), (_X + 800, _Y + 600), (_X + 800, _Y), (_X, _Y + 600)])


def _labels(path: Path, rows: list[tuple[int, object]]) -> Path:
    gpd.GeoDataFrame({"lcz": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=TINY_CRS).to_file(path)
    return path


def _tiny_labels_with(tiny_region, path: Path, extra: list[tuple[int, object]]) -> Path:
    """The tiny region's three polygons, then ``extra`` (rows 3, 4, …)."""
    polys = tiny_region["polygons"]
    return _labels(path, [*zip(polys.lcz.tolist(), polys.geometry), *extra])


# ---------------------------------------------------------------------------------------------
# the record
# ---------------------------------------------------------------------------------------------


def test_checks_file_round_trip_and_contract(tmp_path):
    rows = [
        CheckRow(
            "samples",
            "warning",
            "labels.gpkg",
            "polygons_dropped",
            1 / 3,
            0.1,
            'labels.gpkg: 1 of 3 polygons dropped, "quoted", with commas',
        ),
        CheckRow("graphs", "info", "results/graphs/0.h5", "single_node_graphs", 0.0, None, "none, all fine"),
    ]
    write_checks(tmp_path / "c.csv", rows)
    text = (tmp_path / "c.csv").read_text().splitlines()
    assert text[0] == ",".join(CHECK_COLUMNS)
    assert text[2] == 'graphs,info,results/graphs/0.h5,single_node_graphs,0,,"none, all fine"'
    back = read_checks(tmp_path / "c.csv")
    assert back[1] == rows[1]
    assert back[0].value == pytest.approx(1 / 3, rel=1e-5) and back[0].message == rows[0].message
    write_checks(tmp_path / "empty.csv", [])
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(CHECK_COLUMNS)
    assert read_checks(tmp_path / "empty.csv") == []
    with pytest.raises(
        ValueError, match=r"bad\.csv: row 0: level 'loud'; expected one of \['info', 'warning'\]"
    ):
        write_checks(
            tmp_path / "bad.csv", [CheckRow("samples", "loud", "x", "google_upsampling", 2.0, 4.0, "m")]
        )
    with pytest.raises(ValueError, match=r"bad\.csv: row 0: the message spans several lines"):
        write_checks(
            tmp_path / "bad.csv", [CheckRow("samples", "info", "x", "google_upsampling", 2.0, 4.0, "a\nb")]
        )
    assert not (tmp_path / "bad.csv").exists()
    pd.DataFrame({"stage": ["s"], "value": [1]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(
        ValueError, match=r"other\.csv: columns \['stage', 'value'\]; expected \['stage', 'level'"
    ):
        read_checks(tmp_path / "other.csv")


# ---------------------------------------------------------------------------------------------
# polygons repaired into nothing
# ---------------------------------------------------------------------------------------------


def test_polygon_repaired_into_nothing_is_counted_recorded_and_limited(tmp_path, records):
    path = _labels(
        tmp_path / "broken.gpkg",
        [(2, box(TINY_X0, TINY_Y1 - 700, TINY_X0 + 700, TINY_Y1)), (6, COLLINEAR), (11, BOWTIE)],
    )
    polys, stats = load_labels(path, TINY_CRS, "lcz", {})
    assert polys.polygon_id.tolist() == [0, 2]
    assert (stats.n_polygons, stats.n_repaired, stats.n_no_area, stats.n_unprojectable) == (3, 1, 1, 0)
    assert stats.dropped_rows == (1,) and stats.dropped_fraction == pytest.approx(1 / 3)
    warnings = warning_messages(records)
    assert any(
        f"{path}: polygon of row 1 (LCZ 6) is invalid" in w and "left no area; dropped" in w for w in warnings
    )

    rows = {r.check: r for r in label_check_rows(stats, 0.5)}
    assert sorted(rows) == ["polygons_dropped", "polygons_repaired"]
    dropped = rows["polygons_dropped"]
    assert (dropped.level, dropped.subject, dropped.threshold) == ("warning", str(path), 0.5)
    assert dropped.value == pytest.approx(1 / 3)
    assert dropped.message.startswith(
        f"{path}: 1 of 3 polygons (33.3 %) dropped (1 without area once repaired"
    )
    assert rows["polygons_repaired"].value == 1

    check_dropped_polygons(stats, 0.5)  # 1/3 is within 0.5
    with pytest.raises(ValueError) as err:
        check_dropped_polygons(stats, 0.1)
    msg = str(err.value)
    assert msg.startswith(f"{path}: 1 of its 3 polygons (33.3 %) were dropped")
    assert "rows [1]" in msg and f"more than {KEY_DROPPED} = 0.1" in msg and f"raise {KEY_DROPPED}" in msg


def test_samples_stage_stops_on_dropped_polygons_before_any_output(tiny_region, tmp_path):
    labels = _tiny_labels_with(tiny_region, tmp_path / "labels.gpkg", [(6, COLLINEAR)])  # 1 of 4 dropped
    region = region_inputs("tiny", tiny_region["google"], tiny_region["sentinel2"], str(labels))
    with pytest.raises(
        ValueError, match=rf"labels\.gpkg: 1 of its 4 polygons \(25\.0 %\) .*{KEY_DROPPED} = 0\.2;"
    ):
        build_samples([region], sample_params(max_dropped_polygon_fraction=0.2), seed=0)
    out = _samples_outputs(tmp_path)
    job = _samples_job(
        vars(region),
        out,
        max_dropped_polygon_fraction=schema_defaults("samples")["max_dropped_polygon_fraction"],
    )
    with pytest.raises(ValueError, match=rf"{KEY_DROPPED} = 0\.1;"):
        samples_stage.run(job)
    assert not any(Path(p).exists() for p in out.values())


def _samples_outputs(tmp_path: Path) -> dict[str, str]:
    return {
        k: str(tmp_path / "results" / v)
        for k, v in {
            "table": "samples.parquet",
            "overview": "overview.png",
            "summary": "per_class.csv",
            "checks": "checks/samples.csv",
            "class_loss": "checks/class_loss/samples.csv",
        }.items()
    }


def _samples_job(region: dict, out: dict[str, str], **samples) -> Job:
    return Job(
        rule="samples",
        input=NamedFiles([]),
        output=NamedFiles(list(out.values()), out),
        params={
            "samples": {**schema_defaults("samples"), **samples},
            "google": {k: GOOGLE[k] for k in ("chip_px", "max_upsampling")},
            "regions": [region],
            "seed": 1,
        },
        wildcards={},
        log=NamedFiles([]),
    )


# ---------------------------------------------------------------------------------------------
# the samples checkpoint's record and the summary: a ~3.4 m Google mosaic on the 1 m chip grid
# ---------------------------------------------------------------------------------------------


def _metrics_table() -> pd.DataFrame:
    row = {c: np.nan for c in METRIC_COLUMNS}
    row.update(strategy="random", model="resnet11_3d", OA=0.5, n_test=4, bootstrap_unit="sample")
    return pd.DataFrame([row], columns=list(METRIC_COLUMNS))


def _content(tmp_path: Path, rows: list[CheckRow], **kwargs):
    """The summary of a one-row metrics table with the check ``rows`` (and ``kwargs`` of summary_content)."""
    return summary_content(
        _metrics_table(),
        regions=["tiny"],
        split_counts={"random": {"train": 1}},
        segmentation_backend="classical",
        graphs="none",
        figure_dir=tmp_path,
        fusion={},
        note="note",
        checks=rows,
        **kwargs,
    )


def _pages(tmp_path: Path, rows: list[CheckRow]) -> tuple[str, str]:
    content = _content(tmp_path, rows)
    return summary_markdown(content, tmp_path / "s.md"), summary_html(content, tmp_path / "s.html")


def test_samples_record_upsampled_google_and_repairs_shown_in_the_summary(tiny_region, tmp_path, records):
    labels = _tiny_labels_with(tiny_region, tmp_path / "labels.gpkg", [(6, COLLINEAR), (11, BOWTIE)])
    region = region_inputs("tiny", tiny_region["google"], tiny_region["sentinel2"], str(labels))
    out = _samples_outputs(tmp_path)
    samples_stage.run(_samples_job(vars(region), out, max_dropped_polygon_fraction=0.25))  # 1 of 5 dropped
    rows = read_checks(out["checks"])
    assert [(r.check, r.subject, r.level) for r in rows] == [
        ("polygons_repaired", str(labels), "warning"),
        ("polygons_dropped", str(labels), "warning"),
        ("class_loss", "LCZ 17", "info"),  # half its squares lie east of the Sentinel-2 raster
        ("google_upsampling", tiny_region["google"], "warning"),
    ]
    assert all(r.stage == "samples" for r in rows)
    assert rows[2].value == 0.5 and rows[2].threshold == 0.5
    rows = warnings_of(rows)
    assert rows[0].value == 1 and rows[1].value == pytest.approx(1 / 5) and rows[1].threshold == 0.25
    # the tiny mosaic has 4 m pixels of EPSG:3857: 4·cos(latitude) m on the ground, over 1 m chip pixels
    samples = pd.read_parquet(out["table"])
    b = samples[["xmin", "ymin", "xmax", "ymax"]].to_numpy(float)
    cx, cy = (b[:, 0].min() + b[:, 2].max()) / 2, (b[:, 1].min() + b[:, 3].max()) / 2
    lat = Transformer.from_crs(TINY_CRS, "EPSG:4326", always_xy=True).transform(cx, cy)[1]
    expected = 4 * math.cos(math.radians(lat)) / (320 / GOOGLE["chip_px"])
    google = rows[2]
    assert 3 < expected < 4 and google.value == pytest.approx(expected, abs=0.06)
    assert google.threshold == GOOGLE["max_upsampling"]
    assert google.message in warning_messages(records)
    assert f"chips are upsampled {expected:.1f}×" in google.message

    md, page = _pages(tmp_path, rows)
    section = md.split("## Input checks\n\n")[1].split("\n\n## Models")[0]
    assert section.splitlines() == [f"- {r.message}" for r in rows]
    assert "<h2>Input checks</h2><ul><li>" in page and page.count("<li>") >= 3
    assert "chips are upsampled" in page


# ---------------------------------------------------------------------------------------------
# chips without mask, one-node graphs
# ---------------------------------------------------------------------------------------------

#: Masks per chip of the graph fixtures (6 chips of 8 × 8 px).
MASKS_PER_CHIP: tuple[int, ...] = (0, 1, 3, 0, 2, 1)


def _chip_masks(n: int) -> list[np.ndarray]:
    """``n`` disjoint horizontal bands of an 8 × 8 chip (each its own mask)."""
    out = []
    for k in range(n):
        m = np.zeros((8, 8), bool)
        m[2 * k : 2 * k + 2] = True
        out.append(m)
    return out


def _shard_files(tmp_path: Path, masks_per_chip=MASKS_PER_CHIP) -> tuple[Path, Path, Path]:
    """Masks, chips and sample table of one shard whose chips hold ``masks_per_chip`` masks."""
    ids = np.arange(len(masks_per_chip), dtype=np.int64) + 10
    maskset = maskset_from_records([records_of_masks(_chip_masks(n)) for n in masks_per_chip], (8, 8))
    write_masks(tmp_path / "masks.h5", ids, maskset, {"backend": "test"})
    images = np.random.default_rng(0).integers(0, 256, size=(len(ids), 8, 8, 3), dtype=np.uint8)
    write_chips(tmp_path / "chips.h5", "google", ids, images, pd.DataFrame({"sample_id": [], "reason": []}))
    table = gpd.GeoDataFrame(
        {
            "sample_id": ids,
            "region": "r",
            "polygon_id": 0,
            "lcz": 2,
            "shard": 0,
            "crs": TINY_CRS,
            "xmin": 0.0,
            "ymin": 0.0,
            "xmax": 320.0,
            "ymax": 320.0,
        },
        geometry=[box(0, 0, 1, 1)] * len(ids),
        crs="EPSG:4326",
    )
    table.to_parquet(tmp_path / "samples.parquet")
    return tmp_path / "masks.h5", tmp_path / "chips.h5", tmp_path / "samples.parquet"


def test_graphs_stage_counts_zero_mask_chips_and_one_node_graphs(tmp_path, records):
    masks, chips, samples = _shard_files(tmp_path)
    zero = sum(n == 0 for n in MASKS_PER_CHIP)  # 2: one whole-chip node each
    single = sum(n <= 1 for n in MASKS_PER_CHIP)  # 4: no mask or one mask
    assert single / len(MASKS_PER_CHIP) > SINGLE_NODE_WARN_FRACTION
    gs = graphs_shard_file(
        masks, chips, samples, tmp_path / "graphs.h5", GRAPHS, checks_path=tmp_path / "g.csv"
    )
    assert int((np.diff(gs.node_ptr) == 1).sum()) == single
    attrs = read_graph_attrs(tmp_path / "graphs.h5")
    assert (attrs[ZERO_MASK_ATTR], attrs[SINGLE_NODE_ATTR]) == (zero, single)
    rows = {r.check: r for r in read_checks(tmp_path / "g.csv")}
    assert rows["zero_mask_chips"].value == pytest.approx(zero / 6)
    assert rows["zero_mask_chips"].level == "warning"  # 2/6 > 0.2
    assert rows["single_node_graphs"].value == pytest.approx(single / 6)
    assert rows["single_node_graphs"].message == (
        f"{tmp_path / 'graphs.h5'}: 4 of 6 graphs (66.7 %) have a single node; warning above 20 %"
    )
    assert rows["single_node_graphs"].message in warning_messages(records)
    # a shard of several masks per chip records info rows only, and logs no warning
    records.clear()
    (tmp_path / "ok").mkdir()
    graphs_shard_file(
        *_shard_files(tmp_path / "ok", (2, 3, 2)),
        tmp_path / "ok" / "graphs.h5",
        GRAPHS,
        checks_path=tmp_path / "ok" / "g.csv",
    )
    assert [r.level for r in read_checks(tmp_path / "ok" / "g.csv")] == ["info", "info"]
    assert not warning_messages(records)


def _graph_file(path: Path, node_counts: list[int], attrs: dict | None = None) -> Path:
    """A graphs shard of ``len(node_counts)`` edgeless graphs of those node counts."""
    n = int(sum(node_counts))
    gs = GraphSet(
        x=np.zeros((n, 3), np.float32),
        edge_index=np.zeros((2, 0), np.int64),
        node_ptr=np.concatenate([[0], np.cumsum(node_counts)]).astype(np.int64),
        edge_ptr=np.zeros(len(node_counts) + 1, np.int64),
        feature_names=["r", "g", "b"],
        params={"edge_rule": "imported"},
    )
    write_graphs(path, np.arange(len(node_counts)), np.full(len(node_counts), 2), gs, attrs)
    return path


def test_one_node_fraction_over_all_shards_warns_and_stops(tmp_path, records):
    a = _graph_file(tmp_path / "0.h5", [1, 1, 4, 5], {ZERO_MASK_ATTR: 1})
    b = _graph_file(tmp_path / "1.h5", [3, 1, 2, 6, 2, 2], {ZERO_MASK_ATTR: 0})
    counts = [1, 1, 4, 5, 3, 1, 2, 6, 2, 2]
    fraction = sum(c == 1 for c in counts) / len(counts)  # 3 of 10
    rows = {r.check: r for r in check_single_node_graphs([a, b], max_fraction=0.5)}
    assert rows["single_node_graphs"].value == pytest.approx(fraction)
    assert rows["single_node_graphs"].threshold == 0.5 and rows["single_node_graphs"].level == "warning"
    assert rows["zero_mask_chips"].value == pytest.approx(0.1) and rows["zero_mask_chips"].level == "info"
    assert rows["single_node_graphs"].message in warning_messages(records)
    assert f"error above {KEY_SINGLE} = 0.5" in rows["single_node_graphs"].message
    with pytest.raises(ValueError) as err:
        check_single_node_graphs([a, b], max_fraction=0.25)
    msg = str(err.value)
    assert "3 of 10 graphs (30.0 %) have a single node, 1 of them chips without any mask" in msg
    assert f"more than {KEY_SINGLE} = 0.25" in msg and "0.h5 50 %" in msg and f"raise {KEY_SINGLE}" in msg
    # imported graphs (no mask counts): the one-node row only
    c = _graph_file(tmp_path / "imported.h5", [1, 2, 2, 2, 2])
    assert [r.check for r in check_single_node_graphs([c], 0.5)] == ["single_node_graphs"]
    assert check_single_node_graphs([], 0.5) == []


def test_graph_checks_stage_writes_nothing_above_the_limit(tmp_path):
    files = [str(_graph_file(tmp_path / "0.h5", [1, 1, 1, 3]))]
    out = {"checks": str(tmp_path / "checks" / "graphs.csv")}

    def job(limit: float) -> Job:
        return Job(
            rule="graph_checks",
            input=NamedFiles(files, {"graphs": files}),
            output=NamedFiles(list(out.values()), out),
            params={"max_single_node_fraction": limit},
            wildcards={},
            log=NamedFiles([]),
        )

    with pytest.raises(
        ValueError, match=rf"3 of 4 graphs \(75\.0 %\) have a single node, more than {KEY_SINGLE}"
    ):
        graph_checks_stage.run(job(GRAPHS["max_single_node_fraction"]))
    assert not Path(out["checks"]).exists()
    graph_checks_stage.run(job(0.8))
    assert [r.check for r in read_checks(out["checks"])] == ["single_node_graphs"]


# ---------------------------------------------------------------------------------------------
# the summary's section
# ---------------------------------------------------------------------------------------------


def test_summary_lists_warnings_only_or_all_passed(tmp_path):
    info = CheckRow("graphs", "info", "g.h5", "single_node_graphs", 0.0, 0.2, "g.h5: 0 of 6 graphs")
    md, page = _pages(tmp_path, [info])
    passed = NO_CHECK_TEXT.format(n=1)
    assert passed == "All passed: 1 check(s) recorded, none a warning."
    assert f"## Input checks\n\n{passed}\n\n" in md
    assert f"<h2>Input checks</h2><p>{passed}</p>" in page
    many = [
        CheckRow("graphs", "warning", f"{i}.h5", "zero_mask_chips", 0.5, 0.2, f"{i}.h5: <half> the chips")
        for i in range(MAX_CHECK_LINES + 5)
    ]
    lines = check_lines([info, *many])
    assert lines[:2] == ["0.h5: <half> the chips", "1.h5: <half> the chips"]
    assert len(lines) == MAX_CHECK_LINES + 1 and lines[-1] == "… and 5 more warning(s) in results/checks/"
    _, page = _pages(tmp_path, many)
    assert "<li>0.h5: &lt;half&gt; the chips</li>" in page
