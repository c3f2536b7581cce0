"""Rule demo_city: render one synthetic city (google.tif, sentinel2.tif, labels.gpkg, …)."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from pathlib import Path

from df4lcz.demo import DemoSettings, plan_cities
from df4lcz.demo.generate import generate_city
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
settings = DemoSettings.from_config(job.params["demo"])
plans = {p.name: (i, p) for i, p in enumerate(plan_cities(settings))}
index, plan = plans[job.wildcards["city"]]
generate_city(plan, index, settings, Path(job.output.google).parent)
