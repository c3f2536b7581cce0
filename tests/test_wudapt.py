"""WUDAPT training areas (KML/KMZ, one folder per class) as label polygons."""

import logging
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import TINY_CRS, TINY_X0, TINY_Y1
from helpers.demo import demo_settings
from helpers.sampling import region_inputs, sample_params
from helpers.wudapt import kml_text, point_placemark, polygon_placemark, write_kml
from shapely.geometry import box

from df4lcz.demo import generate_demo
from df4lcz.sampling.build import build_samples
from df4lcz.sampling.labels import read_labels
from df4lcz.sampling.wudapt import lcz_class_of_folder

#: A small demo city whose patches carry classes written with every kind of folder name.
DEMO = dict(
    seed=7,
    n_cities=1,
    patches_per_side=3,
    patch_cells=(1, 2),
    classes=(1, 2, 10, 11, 14, 17),
    labelled_fraction=1.0,
)
#: Folder name of each demo class in the KMZ, in mixed WUDAPT spellings.
FOLDER_NAMES = {
    1: "1 Compact highrise",
    2: "LCZ2",
    10: "LCZ 10",
    11: "A Dense trees",
    14: "LCZ D",
    17: "G: Water",
}
#: Class folders of the template left empty (a template ships all 17).
EMPTY_FOLDERS = ("LCZ 5", "F Bare soil or sand")
#: Seed of the sample tables (matters only with ``max_per_polygon``).
SEED = 0


@pytest.mark.parametrize(
    "name, code",
    [
        ("LCZ 1", 1),
        ("LCZ1", 1),
        ("lcz_1", 1),
        ("Lcz 1", 1),
        ("1 Compact highrise", 1),
        ("1: Compact high-rise", 1),
        ("01", 1),
        ("  LCZ 9 Sparsely built ", 9),
        ("10 Heavy industry", 10),
        ("LCZ 10", 10),
        ("LCZ10", 10),
        ("10", 10),
        ("LCZ A", 11),
        ("LCZ-a", 11),
        ("A Dense trees", 11),
        ("A", 11),
        ("B: Scattered trees", 12),
        ("C Bush, scrub", 13),
        ("LCZ D", 14),
        ("E_Bare rock or paved", 15),
        ("F", 16),
        ("G Water", 17),
        ("LCZ G", 17),
        ("LCZ 17", 17),
        ("17", 17),
        ("101", 11),
        ("107 Water", 17),
        ("LCZ 104", 14),
    ],
)
def test_folder_names_that_name_a_class(name, code):
    assert lcz_class_of_folder(name) == code


@pytest.mark.parametrize(
    "name",
    [
        "",
        "LCZ",
        "LCZ 0",
        "0",
        "LCZ 18",
        "18",
        "100",
        "108",
        "2020",
        "LCZ H",
        "H Other",
        "Airport",
        "Bare soil",
        "Dense trees",
        "Guangzhou",
        "3D buildings",
        "1a",
        "LCZ 1A",
        "a forest",
        "Untitled Folder",
        "Temporary Places",
        "batch 2",
    ],
)
def test_folder_names_that_name_no_class(name):
    assert lcz_class_of_folder(name) is None


@pytest.fixture(scope="module")
def demo_kmz(tmp_path_factory):
    """The demo city's polygons as a GeoPackage (the generator's) and as a WUDAPT KMZ.

    Returns the city folder, the KMZ path and, per KMZ placemark number, the GeoPackage row of
    the polygon it holds (``None`` for the point placemark).
    """
    out = tmp_path_factory.mktemp("wudapt")
    generate_demo(out, demo_settings(**DEMO))
    city = out / "demo_city_1"
    gdf = gpd.read_file(city / "labels.gpkg")
    assert gdf.crs.to_epsg() == 4326 and set(gdf.lcz) == set(FOLDER_NAMES)
    folders, row_of_placemark = [], []
    for name in EMPTY_FOLDERS[:1]:
        folders.append((name, []))
    for code, name in FOLDER_NAMES.items():
        placemarks = []
        if code == 10:  # a pin dropped among the polygons of one class
            placemarks.append(point_placemark(gdf.geometry[gdf.lcz == 10].iloc[0].centroid))
            row_of_placemark.append(None)
        for row in np.flatnonzero(gdf.lcz == code):
            placemarks.append(polygon_placemark(gdf.geometry.iloc[row], name=f"row {row}"))
            row_of_placemark.append(int(row))
        folders.append((name, placemarks))
    folders.append((EMPTY_FOLDERS[1], []))
    kmz = write_kml(
        out / "training_areas.kmz", kml_text(folders, document_name="Guangzhou LCZ training areas")
    )
    return city, kmz, row_of_placemark


def _city_region(city, labels, **kw):
    return region_inputs("demo_city_1", city / "google.tif", city / "sentinel2.tif", labels, **kw)


def test_demo_kmz_gives_the_same_samples_as_the_geopackage(demo_kmz, caplog):
    city, kmz, row_of_placemark = demo_kmz
    params = sample_params()
    from_gpkg, _ = build_samples([_city_region(city, city / "labels.gpkg")], params, seed=SEED)
    with caplog.at_level(logging.WARNING):
        from_kmz, _ = build_samples(
            [_city_region(city, kmz, label_column="no_such_column")], params, seed=SEED
        )
    assert "1 placemark(s) without polygons ignored (1 Point)" in caplog.text
    assert len(from_kmz) == len(from_gpkg) > 20
    cols = ["xmin", "ymin", "xmax", "ymax", "lcz"]
    a = from_gpkg.sort_values(cols).reset_index(drop=True)
    b = from_kmz.sort_values(cols).reset_index(drop=True)
    assert np.array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    assert sorted(set(a.lcz)) == sorted(FOLDER_NAMES)
    # polygon ids: the KMZ numbers its placemarks (folders in order, the point included)
    expected = {row: k for k, row in enumerate(row_of_placemark) if row is not None}
    assert [expected[r] for r in a.polygon_id] == b.polygon_id.tolist()


def test_demo_kmz_polygons_equal_the_geopackage_polygons(demo_kmz):
    city, kmz, row_of_placemark = demo_kmz
    crs = "EPSG:32649"  # the city's UTM zone
    gpkg = read_labels(city / "labels.gpkg", crs, "lcz", {})
    kml = read_labels(kmz, crs, "lcz", {}).set_index("polygon_id")
    assert len(kml) == len(gpkg) == sum(r is not None for r in row_of_placemark)
    for row in gpkg.itertuples():
        mine = kml.loc[row_of_placemark.index(row.polygon_id)]
        assert mine.lcz == row.lcz
        assert shapely.equals_exact(mine.geometry, row.geometry, tolerance=1e-6)  # metres


def test_kml_and_kmz_read_alike(demo_kmz, tmp_path):
    _, kmz, _ = demo_kmz
    text = zipfile.ZipFile(kmz).read("doc.kml").decode()
    kml = write_kml(tmp_path / "areas.kml", text)
    a, b = read_labels(kmz, TINY_CRS, "lcz", {}), read_labels(kml, TINY_CRS, "lcz", {})
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(shapely.equals_exact(x, y, 0) for x, y in zip(a.geometry, b.geometry))


def _square(x0: float, y1: float, side: float) -> shapely.Polygon:
    """A square with its north-west corner at (x0, y1) in the tiny CRS, as lon/lat."""
    return gpd.GeoSeries([box(x0, y1 - side, x0 + side, y1)], crs=TINY_CRS).to_crs("EPSG:4326").iloc[0]


def _squares(n: int, side: float = 500.0) -> list[shapely.Polygon]:
    """``n`` squares in a row, 1 km apart, each ``side`` m wide."""
    return [_square(TINY_X0 + 1000 * k, TINY_Y1, side) for k in range(n)]


def test_nested_folders_take_the_nearest_class_folder(tmp_path):
    sq = _squares(4)
    folders = [
        ("LCZ 2", [("batch 1", [polygon_placemark(sq[0])])]),  # class from the parent
        ("Group", [("LCZ A", [polygon_placemark(sq[1])])]),  # class from the child
        ("LCZ 1", [("LCZ 3", [("done", [polygon_placemark(sq[2])])])]),  # the nearest one wins
        ("E Bare rock or paved", [polygon_placemark(sq[3]), ("Untitled Folder", [])]),
    ]
    path = write_kml(tmp_path / "nested.kmz", kml_text(folders))
    polys = read_labels(path, TINY_CRS, "lcz", {})
    assert polys.polygon_id.tolist() == [0, 1, 2, 3]
    assert polys.lcz.tolist() == [2, 11, 3, 15]
    assert np.allclose(polys.area, 500.0**2, rtol=1e-6)


def test_unknown_folder_holding_polygons_is_an_error(tmp_path):
    sq = _squares(3)
    folders = [
        ("LCZ 1", [polygon_placemark(sq[0])]),
        ("Airport", [polygon_placemark(sq[1])]),
        ("Untitled Folder", [point_placemark(sq[2].centroid)]),
    ]
    path = write_kml(tmp_path / "areas.kmz", kml_text(folders))
    with pytest.raises(
        ValueError,
        match=r"areas\.kmz: polygons in folder\(s\) \['WUDAPT training areas/Airport'\] "
        r"whose name names no LCZ class.*Folders found: .*'WUDAPT training areas/LCZ 1'",
    ):
        read_labels(path, TINY_CRS, "lcz", {})


def test_polygons_outside_any_class_folder_are_an_error(tmp_path):
    sq = _squares(2)
    text = kml_text(
        [("LCZ 1", [polygon_placemark(sq[0])])], document_name="City", top=[polygon_placemark(sq[1])]
    )
    with pytest.raises(ValueError, match=r"top\.kml: polygons in folder\(s\) \['City'\]"):
        read_labels(write_kml(tmp_path / "top.kml", text), TINY_CRS, "lcz", {})


def test_overlap_checks_apply_to_kml(tmp_path, caplog):
    a, b = _square(TINY_X0, TINY_Y1, 600), _square(TINY_X0 + 300, TINY_Y1, 600)
    same = [("LCZ 1", [polygon_placemark(a)]), ("1 Compact highrise", [polygon_placemark(b)])]
    with caplog.at_level(logging.WARNING):
        merged = read_labels(write_kml(tmp_path / "same.kmz", kml_text(same)), TINY_CRS, "lcz", {})
    assert merged.polygon_id.tolist() == [0] and merged.lcz.tolist() == [1]
    assert merged.area.iloc[0] == pytest.approx(900 * 600, rel=1e-6)
    assert "merged into one" in caplog.text
    clash = [("LCZ 1", [polygon_placemark(a)]), ("LCZ 2", [polygon_placemark(b)])]
    with pytest.raises(
        ValueError,
        match=r"(?s)clash\.kmz: 1 pair\(s\) of polygons of different classes overlap.*"
        r"row 0 \(LCZ 1\) and row 1 \(LCZ 2\) overlap by 180000 m²",
    ):
        read_labels(write_kml(tmp_path / "clash.kmz", kml_text(clash)), TINY_CRS, "lcz", {})


def test_label_map_is_ignored_with_a_warning(tmp_path, caplog):
    path = write_kml(tmp_path / "a.kml", kml_text([("LCZ B", [polygon_placemark(_squares(1)[0])])]))
    with caplog.at_level(logging.WARNING):
        polys = read_labels(path, TINY_CRS, "lcz", {"12": 3})
    assert polys.lcz.tolist() == [12]
    assert "regions[].label_map is ignored" in caplog.text


@pytest.mark.skipif(
    "LIBKML" not in pyogrio.list_drivers(), reason="ExtendedData fields need GDAL's LIBKML driver"
)
def test_kml_without_class_folders_uses_the_label_column(tmp_path):
    sq = _squares(3)

    def with_code(geom, code):
        return polygon_placemark(geom).replace(
            "</name>",
            f'</name><ExtendedData><Data name="code"><value>{code}</value></Data></ExtendedData>',
            1,
        )

    folders = [("Downtown", [with_code(sq[0], 101), with_code(sq[1], 2)]), ("Suburbs", [with_code(sq[2], 6)])]
    path = write_kml(tmp_path / "coded.kmz", kml_text(folders))
    polys = read_labels(path, TINY_CRS, "code", {"101": 11})
    assert polys.lcz.tolist() == [11, 2, 6]
    with pytest.raises(
        ValueError, match=r"coded\.kmz: column 'lcz' not found.*or name each folder by its class"
    ):
        read_labels(path, TINY_CRS, "lcz", {})


def test_unreadable_kmz_names_the_file(tmp_path):
    bad = tmp_path / "broken.kmz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"broken\.kmz: not a readable KMZ file"):
        read_labels(bad, TINY_CRS, "lcz", {})
    xml = write_kml(tmp_path / "broken.kml", "<kml><Document><name>x</name>")
    with pytest.raises(ValueError, match=r"broken\.kml: not a readable KML file"):
        read_labels(xml, TINY_CRS, "lcz", {})
