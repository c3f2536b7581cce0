"""Rule demo_city: render one synthetic city (google.tif, sentinel2.tif, labels.gpkg, …). Logic: df4lcz.stages.demo_city."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import demo_city

run_stage(demo_city.run, globals().get("snakemake"))
