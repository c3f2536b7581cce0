"""Painting LCZ patches into a material map (vectorised where it matters).

The world is two aligned uint8 arrays on a north-up ground grid of ``ground_m`` metres:
``material`` (a :class:`~df4lcz.demo.materials.Material` code per pixel) and ``tone`` (a
brightness factor ×100 per pixel: roofs, fields and canopies differ in shade within a class).
Row 0 is the northern edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .materials import Material
from .styles import STYLES, ClassStyle

#: Shadow length per metre of building height (sun elevation ≈ 51°).
SHADOW_PER_HEIGHT: float = 0.8
#: Unit vector (row, col) of the shadow direction: towards north-west on a north-up grid.
SHADOW_DIR: tuple[float, float] = (-0.8, -0.6)


@dataclass
class PatchParams:
    """The perturbed recipe actually painted into one patch."""

    lcz: int
    building_fraction: float
    size_scale: float
    height_scale: float
    ground: dict[Material, float]


def perturb_style(lcz: int, rng: np.random.Generator, variation: float) -> PatchParams:
    """Draw one patch's recipe around the class's typical values.

    ``variation`` scales the spread: building fraction ×(1 ± 0.5·v), sizes and heights
    ×exp(±0.6·v), ground shares ×exp(N(0, v)) renormalised.
    """
    style = STYLES[lcz]
    bf = style.building_fraction * (1.0 + variation * rng.uniform(-0.5, 0.5))
    size_scale = math.exp(variation * rng.uniform(-0.6, 0.6))
    height_scale = math.exp(variation * rng.uniform(-0.6, 0.6))
    mats = list(style.ground)
    shares = np.array([style.ground[m] for m in mats], dtype=float)
    shares *= np.exp(variation * rng.normal(0.0, 1.0, size=len(mats)))
    shares /= shares.sum()
    return PatchParams(lcz, float(np.clip(bf, 0.0, 0.85)), size_scale, height_scale, dict(zip(mats, shares)))


def smooth_field(shape: tuple[int, int], grain_px: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field of the given shape with blobs of about ``grain_px`` pixels.

    White noise on a coarse grid, Gaussian-smoothed and upsampled bilinearly (cheap for large
    patches). Returns float32 values of arbitrary scale.
    """
    step = max(1, int(grain_px // 2))
    coarse_shape = (shape[0] // step + 3, shape[1] // step + 3)
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape).astype(np.float32), sigma=1.0)
    field = ndimage.zoom(coarse, step, order=1, prefilter=False)
    return field[: shape[0], : shape[1]]


def paint_ground(
    material: np.ndarray,
    tone: np.ndarray,
    shares: dict[Material, float],
    grain_px: float,
    rng: np.random.Generator,
    fields_px: float = 0.0,
) -> None:
    """Fill ``material`` (a patch view) with ground covers in the given area shares.

    A smooth random field is cut at its quantiles so each material covers its share in
    blobs of ``grain_px``. ``fields_px`` > 0 adds rectangular fields with their own tone.
    """
    h, w = material.shape
    field = smooth_field((h, w), grain_px, rng)
    mats = list(shares)
    cum = np.cumsum([shares[m] for m in mats])[:-1]
    sample = field[:: max(1, h // 128), :: max(1, w // 128)].ravel()
    cuts = np.quantile(sample, cum) if len(cum) else np.array([])
    idx = np.searchsorted(cuts, field)
    material[:] = np.asarray(mats, dtype=np.uint8)[idx]
    shade = smooth_field((h, w), grain_px * 3, rng)
    shade_std = float(shade.std()) or 1.0
    tone[:] = np.clip(100 + 7 * shade / shade_std, 70, 130).astype(np.uint8)
    if fields_px > 0:
        rows = np.floor((np.arange(h) + rng.uniform(0, fields_px)) / fields_px).astype(int)
        cols = np.floor((np.arange(w) + rng.uniform(0, fields_px)) / (fields_px * 1.6)).astype(int)
        offsets = rng.integers(-18, 19, size=(rows.max() + 1, cols.max() + 1))
        tone[:] = np.clip(tone.astype(int) + offsets[rows[:, None], cols[None, :]], 60, 140).astype(np.uint8)


def _road_offsets(
    length: int, spacing: float, width: float, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    offset = rng.uniform(0, spacing)
    starts = np.arange(offset - spacing, length + spacing, spacing)
    return offset, starts


def _free_of_roads(lo: np.ndarray, hi: np.ndarray, offset: float, spacing: float, width: float) -> np.ndarray:
    """True where the interval [lo, hi) lies between two road bands [o+kS, o+kS+W)."""
    k = np.floor((lo - offset - width) / spacing)
    return hi <= offset + (k + 1) * spacing


def paint_buildings(
    material: np.ndarray,
    tone: np.ndarray,
    params: PatchParams,
    ground_m: float,
    rng: np.random.Generator,
) -> int:
    """Paint streets, building shadows and roofs of a built LCZ into a patch view.

    Returns the number of buildings painted.
    """
    style: ClassStyle = STYLES[params.lcz]
    if params.building_fraction <= 0:
        return 0
    h, w = material.shape
    road = style.road_spacing_m > 0
    if road:
        spacing = style.road_spacing_m * params.size_scale / ground_m
        width = max(2.0, style.road_width_m / ground_m)
        off_r, starts_r = _road_offsets(h, spacing, width, rng)
        off_c, starts_c = _road_offsets(w, spacing, width, rng)
        for s in starts_r:
            material[max(0, int(s)) : max(0, int(s + width))] = Material.ASPHALT
        for s in starts_c:
            material[:, max(0, int(s)) : max(0, int(s + width))] = Material.ASPHALT
    smin, smax = (v * params.size_scale / ground_m for v in style.building_size_m)
    mean_size = 0.5 * (smin + smax)
    if style.arrangement == "grid":
        pitch = mean_size / math.sqrt(params.building_fraction)
        rr, cc = np.meshgrid(np.arange(pitch / 2, h, pitch), np.arange(pitch / 2, w, pitch), indexing="ij")
        centres = np.stack([rr.ravel(), cc.ravel()], axis=1)
        centres += rng.uniform(-0.15, 0.15, size=centres.shape) * pitch
        bh = rng.uniform(smin, min(smax, pitch * 0.95), size=len(centres))
        bw = rng.uniform(smin, min(smax, pitch * 0.95), size=len(centres))
    else:
        n = int(params.building_fraction * h * w / mean_size**2 * 1.15)
        centres = rng.uniform(0, 1, size=(n, 2)) * [h, w]
        bh = rng.uniform(smin, smax, size=n)
        bw = rng.uniform(smin, smax, size=n)
    r0 = centres[:, 0] - bh / 2
    c0 = centres[:, 1] - bw / 2
    r1, c1 = r0 + bh, c0 + bw
    keep = (r0 >= 0) & (c0 >= 0) & (r1 < h) & (c1 < w)
    if road:
        keep &= _free_of_roads(r0, r1, off_r, spacing, width) & _free_of_roads(c0, c1, off_c, spacing, width)
    r0, c0, r1, c1 = (np.round(a[keep]).astype(int) for a in (r0, c0, r1, c1))
    n = len(r0)
    hmin, hmax = (v * params.height_scale for v in style.height_m)
    heights = rng.uniform(hmin, hmax, size=n)
    roof_mats = list(style.roofs)
    roof_p = np.array([style.roofs[m] for m in roof_mats], dtype=float)
    roofs = np.asarray(roof_mats, dtype=np.uint8)[rng.choice(len(roof_mats), size=n, p=roof_p / roof_p.sum())]
    tones = rng.integers(82, 119, size=n).astype(np.uint8)
    shadow_len = heights * SHADOW_PER_HEIGHT / ground_m
    for i in range(n):  # per building, not per pixel: shadows then roofs
        steps = max(1, int(math.ceil(shadow_len[i] / max(2.0, min(r1[i] - r0[i], c1[i] - c0[i]) / 2))))
        for t in np.linspace(shadow_len[i] / steps, shadow_len[i], steps):
            dr, dc = int(round(SHADOW_DIR[0] * t)), int(round(SHADOW_DIR[1] * t))
            a, b = max(0, r0[i] + dr), max(0, c0[i] + dc)
            material[a : max(a, r1[i] + dr), b : max(b, c1[i] + dc)] = Material.SHADOW
    for i in range(n):
        material[r0[i] : r1[i], c0[i] : c1[i]] = roofs[i]
        tone[r0[i] : r1[i], c0[i] : c1[i]] = tones[i]
    return n


def render_patch(
    material: np.ndarray,
    tone: np.ndarray,
    lcz: int,
    ground_m: float,
    rng: np.random.Generator,
    variation: float,
    mixing: float,
) -> PatchParams:
    """Render one homogeneous LCZ patch (with optional clutter of another class) in place.

    Args:
        material, tone: views of the world arrays covering the patch (H, W) uint8.
        lcz: class code 1–17.
        ground_m: pixel size (m).
        rng: random generator (the only source of randomness).
        variation: intra-class variation knob (see :func:`perturb_style`).
        mixing: maximum share of the patch re-painted as a random other class.
    """
    params = perturb_style(lcz, rng, variation)
    style = STYLES[lcz]
    paint_ground(
        material, tone, params.ground, style.cover_grain_m / ground_m, rng, style.fields_m / ground_m
    )
    paint_buildings(material, tone, params, ground_m, rng)
    if mixing > 0:
        share = mixing * rng.uniform(0.3, 1.0)
        h, w = material.shape
        aspect = rng.uniform(0.5, 2.0)
        mh = int(min(h, math.sqrt(share * h * w * aspect)))
        mw = int(min(w, share * h * w / max(mh, 1)))
        if mh > 8 and mw > 8:
            r, c = rng.integers(0, h - mh + 1), rng.integers(0, w - mw + 1)
            other = int(rng.choice([k for k in STYLES if k != lcz]))
            sub = perturb_style(other, rng, variation)
            sub_style = STYLES[other]
            mv, tv = material[r : r + mh, c : c + mw], tone[r : r + mh, c : c + mw]
            paint_ground(
                mv, tv, sub.ground, sub_style.cover_grain_m / ground_m, rng, sub_style.fields_m / ground_m
            )
            paint_buildings(mv, tv, sub, ground_m, rng)
    return params
