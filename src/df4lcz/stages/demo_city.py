"""Stage of rule ``demo_city``: render one synthetic city of the embedded demo.

Outputs (one folder per city): ``google.tif``, ``sentinel2.tif``, ``labels.gpkg``,
``lcz_truth.tif`` and ``city.json`` (see ``df4lcz.demo``).
"""

from __future__ import annotations

from pathlib import Path

from ..demo import DemoSettings, plan_cities
from ..demo.generate import generate_city
from ..scripting import Job


def run(job: Job) -> None:
    """Render the city named by ``job.wildcards["city"]`` from the ``demo`` config slice."""
    settings = DemoSettings.from_config(job.params["demo"])
    plans = {p.name: (i, p) for i, p in enumerate(plan_cities(settings))}
    index, plan = plans[job.wildcards["city"]]
    generate_city(plan, index, settings, Path(job.output.google).parent)
