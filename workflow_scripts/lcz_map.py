"""Rule lcz_map: LCZ map (GeoTIFF + PNG) of one region and its agreement with the labels."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.lczmap import map_region
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
region = job.params["region"]
map_region(
    job.input.google, job.input.sentinel2, job.input.s2_model, job.input.gcn_model,
    job.output.tif, job.output.png, job.output.agreement,
    working_crs=region.get("working_crs"), stride_m=job.params["map"]["stride_m"], alpha=job.params["alpha"],
    segment_params=job.params["segment"], graph_params=job.params["graphs"],
    google_params=job.params["google"], sentinel2_params=job.params["sentinel2"],
    band_names=region.get("s2_band_names"),
    checkpoint=job.input.checkpoint[0] if len(job.input.checkpoint) else None,
    labels=job.input.labels, label_column=region.get("label_column", "lcz"), label_map=region.get("label_map"),
    truth=job.input.truth[0] if len(job.input.truth) else None,
    device=job.params["device"], batch_size=job.params["map"]["batch_size"],
    title=f"{region['name']}: LCZ map (DF4LCZ fusion, α = {job.params['alpha']:g})",
)
