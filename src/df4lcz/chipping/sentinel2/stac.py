"""Sentinel-2 scenes described by STAC: an Item JSON file or an ItemCollection JSON file.

``regions[].sentinel2`` may name a STAC Item (``*.json``) or an ItemCollection (``*.json``, e.g. saved
by pystac-client's ``ItemCollection.save_object``), alone or in a list; each **item** is one input
(scene) of the region (:mod:`.scenes`). The files are read with :mod:`pystac` (imported on first use:
the load-time checks of :mod:`df4lcz.preflight` read only the JSON, never a raster).

Band assets are found by the asset keys of the main providers (:data:`ASSET_LAYOUTS`):

* **Planetary Computer** style: ``B02`` … ``B12``, ``B8A``, ``SCL``;
* **Earth Search** (Element 84): ``blue``, ``green``, ``red``, ``rededge1``–``rededge3``, ``nir``,
  ``nir08``, ``swir16``, ``swir22``, ``scl``.

An item that has neither complete set is refused, naming the item, its file, and the keys missing.
Hrefs are opened lazily by GDAL: local paths as they are (relative ones against the file that holds
the item, or the item's own ``self`` link), ``file://`` as a path, ``http(s)://`` through
``/vsicurl/`` and ``s3://`` through ``/vsis3/`` (GDAL's own configuration — ``AWS_*``,
``GDAL_HTTP_*`` — applies; signing, e.g. Planetary Computer's SAS tokens, is the user's: sign the
items before saving them).

Reflectance = (DN + offset) / scale, decided per item from its own metadata (:func:`decide_radiometry`;
first match wins, and the decision is recorded with its source):

1. **Earth Search's** ``earthsearch:boa_offset_applied`` **true**: the stored values already have the
   baseline ≥ 04.00 offset removed (Element 84 harmonised them): offset 0, scale from ``raster:bands``
   (``1 / scale``) or 10000. Earth Search keeps ``raster:bands`` ``offset`` −0.1 on such items too
   (it is not applied a second time; Element84/earth-search issue 9).
2. **Earth Search's flag false**: the stored values are the product's DN, so the processing baseline
   (``s2:processing_baseline``) decides: ≥ 04.00 → the ``raster:bands`` offset (``offset / scale``,
   the openEO rule) or −1000; before 04.00 → 0. Without a baseline, ``raster:bands`` alone decides.
3. **``raster:bands``** ``scale`` / ``offset`` on every band asset (no Earth Search flag):
   scale ``1 / scale``, offset ``offset / scale`` (Earth Search's ``sentinel-2-c1-l2a``, stactools).
4. **``s2:processing_baseline``** alone (Planetary Computer, which neither harmonises nor writes
   ``raster:bands`` scale/offset): ≥ 04.00 → −1000, before → 0; scale 10000.
5. Otherwise the item's radiometry cannot be decided: an error naming the item, its file and the
   properties looked at, unless ``regions[].s2_offset`` states the offset.

Metadata can be wrong (Earth Search's older ``sentinel-2-l2a`` collection has items whose flag says
the opposite of the data: issues 66 and 71); ``regions[].s2_offset`` / ``s2_scale`` override the
decision, with a warning (:func:`~.radiometry.stac_radiometry`).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ...constants import S2_BANDS, S2_REFLECTANCE_SCALE
from ...errors import InputError

#: File name endings read as STAC JSON (an Item or an ItemCollection).
STAC_SUFFIXES: tuple[str, ...] = (".json", ".geojson")

#: Asset keys of the band assets (So2Sat order, :data:`~df4lcz.constants.S2_BANDS`) and of the scene
#: classification, per provider layout.
ASSET_LAYOUTS: dict[str, dict[str, str]] = {
    "planetary-computer": {**{b: b for b in S2_BANDS}, "SCL": "SCL"},
    "earth-search": {
        "B02": "blue",
        "B03": "green",
        "B04": "red",
        "B05": "rededge1",
        "B06": "rededge2",
        "B07": "rededge3",
        "B08": "nir",
        "B8A": "nir08",
        "B11": "swir16",
        "B12": "swir22",
        "SCL": "scl",
    },
}

#: Item properties and asset fields the radiometry decision reads (named in its messages).
BASELINE_PROPERTY: str = "s2:processing_baseline"
EARTHSEARCH_FLAG: str = "earthsearch:boa_offset_applied"
RASTER_BANDS: str = "raster:bands"
LOOKED_AT: str = (
    f"{RASTER_BANDS} scale/offset of the band assets, the properties {EARTHSEARCH_FLAG} and "
    f"{BASELINE_PROPERTY}"
)

#: Processing baseline from which stored values carry the additive offset, and that offset (DN).
OFFSET_BASELINE: str = "04.00"
BASELINE_OFFSET: float = -1000.0

_BASELINE_RE = re.compile(r"^\d{1,2}\.\d{1,2}$")


@dataclass(frozen=True)
class RadiometryDecision:
    """What an item's metadata says: reflectance = (value + offsets[band]) / scale, or why it cannot tell.

    Attributes:
        scale: the divisor (0 when undecided).
        offsets: (10,) offsets in So2Sat order (empty when undecided).
        origin: where the numbers come from, in words (recorded with the chips).
        problem: why the metadata cannot tell (``""`` when it can); names the item and its file.
    """

    scale: float
    offsets: tuple[float, ...]
    origin: str
    problem: str = ""


@dataclass(frozen=True)
class StacScene:
    """One STAC item read for chipping (nothing opened but the JSON).

    Attributes:
        item_id: the item's ``id``.
        file: the JSON file that holds it.
        collection: the item's collection id (``""`` when none).
        layout: the asset layout found (a key of :data:`ASSET_LAYOUTS`).
        band_hrefs: GDAL path of each band of :data:`S2_BANDS` (So2Sat order).
        cloud_mask: GDAL path of the SCL asset, or ``None``.
        properties: the item properties the radiometry decision read (for the record).
        radiometry: the decision from the item's metadata.
    """

    item_id: str
    file: Path
    collection: str
    layout: str
    band_hrefs: dict[str, str]
    cloud_mask: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    radiometry: RadiometryDecision = RadiometryDecision(0.0, (), "")

    @property
    def label(self) -> str:
        """``item id (file name)``, for messages."""
        return f"{self.item_id} ({self.file.name})"

    @property
    def where(self) -> str:
        """``file: STAC item 'id'``, the prefix of messages about the item."""
        return f"{self.file}: STAC item {self.item_id!r}"

    @property
    def cloud_mask_kind(self) -> str | None:
        """``"scl"`` when the item has a scene-classification asset."""
        return "scl" if self.cloud_mask else None

    def local_files(self) -> list[str]:
        """The hrefs that are local files (checked to exist while the workflow loads)."""
        hrefs = [*self.band_hrefs.values(), *([self.cloud_mask] if self.cloud_mask else [])]
        return [h for h in hrefs if not h.startswith("/vsi")]


def is_stac_file(path: str | os.PathLike) -> bool:
    """``path`` is named like a STAC JSON file (:data:`STAC_SUFFIXES`). Cheap: the name only."""
    return str(path).lower().endswith(STAC_SUFFIXES)


def gdal_path(href: str, base: Path) -> str:
    """The path GDAL opens for an asset ``href`` (relative hrefs taken relative to the folder ``base``)."""
    parsed = urlparse(href)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        return f"/vsicurl/{href}"
    if scheme == "s3":
        return f"/vsis3/{parsed.netloc}{parsed.path}"
    if scheme == "file":
        return unquote(parsed.path)
    if href.startswith("/vsi") or os.path.isabs(href):
        return href
    if len(scheme) > 1:
        raise InputError(
            f"asset href {href!r}: scheme {scheme}:// is not read; expected a path, http(s):// or s3://"
        )
    return os.path.normpath(str(base / href))


def _parse_baseline(value: Any) -> float | None:
    text = str(value).strip() if value is not None else ""
    return float(text) if _BASELINE_RE.match(text) else None


def _raster_band(asset: Any) -> dict[str, Any]:
    """The first ``raster:bands`` entry of ``asset`` (``{}`` when none)."""
    bands = asset.extra_fields.get(RASTER_BANDS) or []
    return bands[0] if bands and isinstance(bands[0], dict) else {}


def decide_radiometry(
    where: str, properties: dict[str, Any], raster_bands: dict[str, dict[str, Any]]
) -> RadiometryDecision:
    """Decide the radiometry of one item from its metadata (the rules of the module docstring).

    Args:
        where: the item, for messages (``file: STAC item 'id'``).
        properties: the item's properties.
        raster_bands: per band of :data:`S2_BANDS`, the first ``raster:bands`` entry of its asset.
    """
    flag = properties.get(EARTHSEARCH_FLAG)
    baseline_value = properties.get(BASELINE_PROPERTY)
    baseline = _parse_baseline(baseline_value)
    scaled = all("scale" in raster_bands[b] or "offset" in raster_bands[b] for b in S2_BANDS)
    problem_tail = (
        f"looked at {LOOKED_AT}. State the offset with regions[].s2_offset (-1000 for DN of processing "
        f"baseline ≥ {OFFSET_BASELINE} not harmonised, 0 otherwise; and regions[].s2_scale if not 10000)"
    )
    rb_scale: float | None = None
    rb_offsets: tuple[float, ...] = ()
    if scaled:
        try:
            gains = [float(raster_bands[b].get("scale", 1.0)) for b in S2_BANDS]
            adds = [float(raster_bands[b].get("offset", 0.0)) for b in S2_BANDS]
        except (TypeError, ValueError):
            return RadiometryDecision(
                0.0, (), "", f"{where}: {RASTER_BANDS} scale/offset that are not numbers; {problem_tail}"
            )
        scales = {round(1.0 / g, 6) if g > 0 else math.nan for g in gains}
        if len(scales) != 1 or any(math.isnan(s) for s in scales):
            return RadiometryDecision(
                0.0,
                (),
                "",
                f"{where}: {RASTER_BANDS} scales {sorted(set(gains))} differ between band assets or are not "
                f"positive; expected one scale (e.g. 0.0001) for every band; {problem_tail}",
            )
        rb_scale = scales.pop()
        rb_offsets = tuple(round(a / g, 6) + 0.0 for a, g in zip(adds, gains))
    scale = rb_scale if rb_scale is not None else S2_REFLECTANCE_SCALE
    n = len(S2_BANDS)
    scale_note = f"{RASTER_BANDS} scale" if rb_scale is not None else "scale 10000"
    if isinstance(flag, bool):
        if flag:
            note = (
                f", {RASTER_BANDS} offset {_fmt(rb_offsets)} not applied again"
                if rb_offsets and any(rb_offsets)
                else ""
            )
            return RadiometryDecision(
                scale,
                (0.0,) * n,
                f"{where}: {EARTHSEARCH_FLAG} true, the stored values are already harmonised (offset 0, "
                f"{scale_note}{note})",
            )
        if baseline is not None:
            if baseline >= float(OFFSET_BASELINE):
                offsets = rb_offsets if rb_offsets and any(rb_offsets) else (BASELINE_OFFSET,) * n
                return RadiometryDecision(
                    scale,
                    offsets,
                    f"{where}: {EARTHSEARCH_FLAG} false and {BASELINE_PROPERTY} {baseline_value} "
                    f"(≥ {OFFSET_BASELINE}): the stored values carry the offset",
                )
            note = (
                f" ({RASTER_BANDS} offset {_fmt(rb_offsets)} ignored)"
                if rb_offsets and any(rb_offsets)
                else ""
            )
            return RadiometryDecision(
                scale,
                (0.0,) * n,
                f"{where}: {EARTHSEARCH_FLAG} false and {BASELINE_PROPERTY} {baseline_value} "
                f"(before {OFFSET_BASELINE}): no offset{note}",
            )
    if rb_scale is not None:
        return RadiometryDecision(rb_scale, rb_offsets, f"{where}: {RASTER_BANDS} scale/offset")
    if baseline is not None:
        offsets = (BASELINE_OFFSET if baseline >= float(OFFSET_BASELINE) else 0.0,) * n
        return RadiometryDecision(
            S2_REFLECTANCE_SCALE, offsets, f"{where}: {BASELINE_PROPERTY} {baseline_value}"
        )
    seen = []
    if flag is not None and not isinstance(flag, bool):
        seen.append(f"{EARTHSEARCH_FLAG} {flag!r} is not true/false")
    if baseline_value is None:
        seen.append(f"no {BASELINE_PROPERTY}")
    else:
        seen.append(f"{BASELINE_PROPERTY} {baseline_value!r} does not parse (expected e.g. 05.10)")
    missing_rb = [b for b in S2_BANDS if not ("scale" in raster_bands[b] or "offset" in raster_bands[b])]
    seen.append(f"no {RASTER_BANDS} scale/offset on the asset(s) of {', '.join(missing_rb)}")
    if flag is False:
        seen.append(f"{EARTHSEARCH_FLAG} false without a baseline")
    return RadiometryDecision(
        0.0,
        (),
        "",
        f"{where}: cannot tell how its stored values become reflectance ({'; '.join(seen)}); {problem_tail}",
    )


def _fmt(offsets: tuple[float, ...]) -> str:
    distinct = sorted(set(offsets))
    return f"{distinct[0]:g} DN" if len(distinct) == 1 else ", ".join(f"{o:g}" for o in offsets) + " DN"


def _find_layout(item: Any, where: str) -> tuple[str, dict[str, str]]:
    """The layout whose band keys the item's assets hold: ``(name, {band or 'SCL': asset key})``."""
    keys = {k.lower(): k for k in item.assets}
    best: tuple[int, str, list[str]] | None = None
    for name, layout in ASSET_LAYOUTS.items():
        missing = [layout[b] for b in S2_BANDS if layout[b].lower() not in keys]
        if not missing:
            found = {b: keys[key.lower()] for b, key in layout.items() if key.lower() in keys}
            return name, found
        if best is None or len(missing) < best[0]:
            best = (len(missing), name, missing)
    assert best is not None
    layouts = "; ".join(
        f"{name}: {', '.join(layout[b] for b in (*S2_BANDS, 'SCL'))}"
        for name, layout in ASSET_LAYOUTS.items()
    )
    raise InputError(
        f"{where}: unknown asset layout: no complete set of Sentinel-2 band assets (closest, {best[1]}, "
        f"lacks {', '.join(best[2])}; the item's assets: {', '.join(sorted(item.assets)) or 'none'}); "
        f"expected the asset keys of one of these layouts ({layouts}; SCL optional)"
    )


def _base_folder(item: Any, file: Path) -> Path:
    """The folder relative hrefs of ``item`` are taken against: its local ``self`` link's, else the file's."""
    self_href = item.get_self_href()
    if self_href:
        parsed = urlparse(self_href)
        if parsed.scheme in ("", "file") and os.path.isabs(unquote(parsed.path)):
            return Path(unquote(parsed.path)).parent
    return file.parent


def _scene(item: Any, file: Path) -> StacScene:
    where = f"{file}: STAC item {item.id!r}"
    layout_name, keys = _find_layout(item, where)
    base = _base_folder(item, file)
    hrefs: dict[str, str] = {}
    for band, key in keys.items():
        try:
            hrefs[band] = gdal_path(item.assets[key].href, base)
        except InputError as exc:
            raise InputError(f"{where}: asset {key!r}: {exc}") from None
    raster_bands = {b: _raster_band(item.assets[keys[b]]) for b in S2_BANDS}
    properties = {
        k: item.properties[k] for k in (BASELINE_PROPERTY, EARTHSEARCH_FLAG) if k in item.properties
    }
    return StacScene(
        item_id=str(item.id),
        file=file,
        collection=str(item.collection_id or ""),
        layout=layout_name,
        band_hrefs={b: hrefs[b] for b in S2_BANDS},
        cloud_mask=hrefs.get("SCL"),
        properties=properties,
        radiometry=decide_radiometry(where, dict(item.properties), raster_bands),
    )


def read_stac(path: str | os.PathLike) -> list[StacScene]:
    """The items of a STAC Item or ItemCollection JSON file, each as a :class:`StacScene`.

    Reads the JSON only (pystac); no asset is opened. Item order is the file's.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError: not JSON, not a STAC Item or ItemCollection, an empty collection, an item whose
            asset layout is unknown — naming the file (and the item). An item whose radiometry cannot
            be decided is *not* an error here (:attr:`RadiometryDecision.problem`; ``regions[].s2_offset``
            may state it): :func:`require_radiometry`.
    """
    import pystac  # only for STAC inputs
    from pystac.serialization import identify_stac_object_type

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: STAC item file not found")
    try:
        data = pystac.StacIO.default().read_json(str(file.resolve()))
    except (ValueError, OSError) as exc:
        raise InputError(
            f"{file}: not a readable JSON file ({exc}); expected a STAC Item or ItemCollection"
        ) from exc
    try:
        if pystac.ItemCollection.is_item_collection(data):
            items = list(pystac.ItemCollection.from_dict(data, preserve_dict=False))
        elif isinstance(data, dict) and identify_stac_object_type(data) == pystac.STACObjectType.ITEM:
            items = [pystac.Item.from_dict(data, preserve_dict=False)]
        else:
            kind = data.get("type") if isinstance(data, dict) else type(data).__name__
            raise InputError(
                f"{file}: a JSON {kind!s} that is not a STAC Item or ItemCollection; expected an item (e.g. "
                "saved with item.save_object) or an ItemCollection (e.g. pystac-client's "
                "search.item_collection().save_object)"
            )
    except pystac.STACError as exc:
        raise InputError(f"{file}: not a readable STAC Item or ItemCollection ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"{file}: not a readable STAC Item or ItemCollection (missing or bad {exc})"
        ) from exc
    if not items:
        raise InputError(f"{file}: an ItemCollection without items; expected at least one Sentinel-2 item")
    return [_scene(item, file) for item in items]


def require_radiometry(scene: StacScene, offset_given: bool) -> None:
    """Refuse an item whose radiometry cannot be decided, unless ``regions[].s2_offset`` states it."""
    if scene.radiometry.problem and not offset_given:
        raise InputError(scene.radiometry.problem)
