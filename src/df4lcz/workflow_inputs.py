"""The workflow's input functions: which files each job reads, as plain Python.

``rules/common.smk`` builds one :class:`RunInputs` from the run plan and Snakemake's
``checkpoints`` object; the rule files name its methods as input functions (``data=INPUTS.model_inputs``)
or call them at parse time (``INPUTS.region_files("labels")``). Kept out of the rule files so that
they hold only rules (``snakemake --lint``) and so that the functions can be tested without Snakemake
(a stand-in ``checkpoints`` object is enough).

Above the config layer, but light: what it imports at module level lists files without opening a
raster; the tile plan's reader is imported once the plan exists.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from .chipping.google.sources import GoogleSpec, google_files
from .constants import GCN_MODEL_NAME, REGION_STRATEGY, STREAM_DIRS
from .errors import ContractError
from .io.samples import ShardIndex, read_samples, read_shard_index
from .run import RunPlan
from .segmentation.checkpoints import sam_checkpoint_file


class RunInputs:
    """Input functions of one run.

    Args:
        plan: the run plan (validated config).
        checkpoints: Snakemake's ``checkpoints`` object (``getattr(checkpoints, rule).get(**wildcards)``
            gives the finished checkpoint job's ``output``, or tells Snakemake to wait for it).
    """

    def __init__(self, plan: RunPlan, checkpoints: Any) -> None:
        self.plan = plan
        self.checkpoints = checkpoints
        self._google_files = cache(self._list_google_files)
        self._shard_index = cache(self._read_shard_index)

    # ---- regions' raster inputs ----

    def google_spec(self, region: str) -> GoogleSpec:
        """The Google input of ``region`` (``regions[].google``, ``google_zoom``, ``google_tile_scheme``)."""
        return GoogleSpec.from_region(self.plan.regions[region], self.plan.region_index[region])

    def _list_google_files(self, region: str) -> tuple[str, ...]:
        return tuple(google_files(self.google_spec(region)))

    def google_inputs(self, region: str) -> list[str]:
        """Files Snakemake tracks for a region's Google input: the GeoTIFF/VRT, every GeoTIFF of a
        glob or list, the tile folder, or the .mbtiles file (listed once per run)."""
        return list(self._google_files(region))

    def region_files(self, kind: str) -> list[str]:
        """The labelled regions' input files of one ``kind`` (``google``, ``sentinel2`` or ``labels``)."""
        if kind == "google":
            return [f for name in self.plan.labelled for f in self.google_inputs(name)]
        out: list[str] = []
        for region in self.plan.labelled.values():
            value = region[kind]
            out.extend(value if isinstance(value, list) else [value])
        return out

    def map_raster_inputs(self, wildcards: Any) -> dict[str, Any]:
        """The rasters of ``wildcards.region`` a map job reads (Google input and Sentinel-2 input(s))."""
        return {
            "google": self.google_inputs(wildcards.region),
            "sentinel2": self.plan.regions[wildcards.region]["sentinel2"],
        }

    def sam_checkpoint_input(self, wildcards: Any) -> list[str]:
        """The SAM checkpoint a segmenting job needs (none for the classical backend)."""
        path = sam_checkpoint_file(self.plan.config["segment"])
        return [path] if path else []

    # ---- shards of the sample table (known once the samples checkpoint has run) ----

    def _samples_table(self) -> str:
        return str(getattr(self.checkpoints, self.plan.variant.samples_rule).get().output.table)

    def _read_shard_index(self, path: str, mtime: float) -> ShardIndex:
        return read_shard_index(path)

    def shard_index(self) -> ShardIndex:
        """The shards of the checkpoint's sample table and their regions (read once per table version)."""
        path = self._samples_table()
        return self._shard_index(path, os.path.getmtime(path))

    def shard_files(self, kind: str) -> Any:
        """Input function: every shard's file under ``results/<kind>/``."""

        def files(wildcards: Any) -> list[str]:
            return [f"results/{kind}/{shard}.h5" for shard in self.shard_index().shards]

        return files

    def stream_files(self, stream: str) -> Any:
        """Input function: every shard's file of ``stream`` (``STREAM_DIRS``)."""
        return self.shard_files(STREAM_DIRS[stream])

    def shard_region(self, wildcards: Any) -> dict[str, Any]:
        """The ``regions[]`` entry of the shard in ``wildcards.shard``."""
        name = self.shard_index().regions.get(int(wildcards.shard))
        if name is None:
            raise ContractError(
                f"results/samples.parquet holds no shard {wildcards.shard}; rerun the samples rule"
            )
        return self.plan.regions[name]

    def shard_column_files(self, column: str) -> Any:
        """Input function: the raw files named in ``column`` of the shard's rows of the sample table.

        Imported datasets record each sample's source files in the sample table (docs/contracts.md §1);
        declaring them as inputs lets Snakemake see that data flow (a changed patch file reruns its shard).
        """

        def files(wildcards: Any) -> list[str]:
            rows = read_samples(self._samples_table(), shard=int(wildcards.shard), columns=[column])
            return sorted(set(rows[column].astype(str)))

        return files

    # ---- training, evaluation, summary ----

    def model_inputs(self, wildcards: Any) -> list[str]:
        """Shard files a model trains on: graphs for the GCN, Sentinel-2 chips otherwise."""
        stream = "graphs" if wildcards.model == GCN_MODEL_NAME else "sentinel2"
        return self.stream_files(stream)(wildcards)

    def graph_checks_input(self, wildcards: Any) -> list[str]:
        """The GCN trains only once the one-node graphs of all shards were counted (rule graph_checks)."""
        return ["results/checks/graphs.csv"] if wildcards.model == GCN_MODEL_NAME else []

    def graph_inputs(self, wildcards: Any) -> list[str]:
        """Graph files of the run (none without a graph stream): rule graph_checks and the summary."""
        return self.stream_files("graphs")(wildcards) if self.plan.has_graphs else []

    def mask_inputs(self, wildcards: Any) -> list[str]:
        """Masks files of the run (none for imported datasets), for the summary's backend line."""
        return [] if self.plan.imported else self.shard_files("masks")(wildcards)

    def check_inputs(self, wildcards: Any) -> list[str]:
        """Input-check records of the run (docs/contracts.md §13), for the summary's "Input checks"."""
        files = [] if self.plan.imported else ["results/checks/samples.csv"]
        files.append("results/checks/valid_samples.csv")
        if self.plan.has_graphs and not self.plan.imported:
            files += [f"results/checks/graphs/{shard}.csv" for shard in self.shard_index().shards]
        if self.plan.has_graphs:
            files.append("results/checks/graphs.csv")
        if REGION_STRATEGY in self.plan.strategies:
            files.append("results/checks/splits/region.csv")
        return files

    def class_loss_input(self, wildcards: Any) -> list[str]:
        """The samples rule's per-class account (docs/contracts.md §13), which valid_samples completes;
        none for imported datasets (no squares laid)."""
        return [] if self.plan.imported else ["results/checks/class_loss/samples.csv"]

    # ---- maps ----

    def map_tile_files(self, wildcards: Any) -> list[str]:
        """The tile files of the region's plan (known once the checkpoint lcz_map_plan has run)."""
        path = self.checkpoints.lcz_map_plan.get(region=wildcards.region).output.plan
        from .mapping.tiles import read_plan  # the raster stack: only once the plan exists

        plan = read_plan(path)
        return [f"results/maps/tiles/{wildcards.region}/{tile.id}.tif" for tile in plan.tiles]

    def map_stream_tile_files(self, wildcards: Any) -> list[str]:
        """The stream tiles of the region's plan (``map.uncertainty``), in the order of :meth:`map_tile_files`."""
        return [f[: -len(".tif")] + "_streams.tif" for f in self.map_tile_files(wildcards)]
