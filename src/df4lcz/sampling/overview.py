"""The overview figure of one region: footprints, labelled polygons by class, sample squares."""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import shapely

from ..atomic import atomic_path
from ..constants import LCZ_COLORS, LCZ_SHORT


def plot_overview(
    samples: gpd.GeoDataFrame, context: dict[str, Any], region: str, path: str | os.PathLike
) -> None:
    """PNG map of one region: footprints, labelled polygons by class, sample squares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ctx = context[region]
    polys: gpd.GeoDataFrame = ctx["polygons"]
    sub = samples[samples.region == region]
    fig, ax = plt.subplots(figsize=(9, 9))
    for name, fp, style in (
        ("Google footprint", ctx["footprints"]["google"], "--"),
        ("Sentinel-2 footprint", ctx["footprints"]["sentinel2"], ":"),
    ):
        x, y = fp.exterior.xy
        ax.plot(x, y, style, color="k", lw=1.2, label=name)
    colors = [tuple(c / 255 for c in LCZ_COLORS[int(k)]) for k in polys.lcz]
    polys.plot(ax=ax, color=colors, alpha=0.45, edgecolor="k", linewidth=0.5)
    boxes = gpd.GeoSeries(shapely.box(sub.xmin, sub.ymin, sub.xmax, sub.ymax), crs=ctx["crs"])
    boxes.boundary.plot(ax=ax, color="k", linewidth=0.4)
    present = sorted(set(int(k) for k in polys.lcz))
    handles: list = [
        Patch(color=tuple(c / 255 for c in LCZ_COLORS[k]), label=f"LCZ {LCZ_SHORT[k]}")  # type: ignore[arg-type]
        for k in present
    ]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(
        f"{region}: {len(polys)} polygons, {len(sub)} samples of {sub.xmax.iloc[0] - sub.xmin.iloc[0]:g} m"
        if len(sub)
        else f"{region}: no samples"
    )
    ax.set_xlabel(f"x (m, {ctx['crs']})")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
