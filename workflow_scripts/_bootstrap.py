"""Make the df4lcz package importable when it is not installed (conda envs, cluster nodes).

Snakemake puts this folder on ``sys.path`` for every ``script:`` job, and so does Python when a
script is run alone; importing this module adds the checkout's ``src/`` only if needed.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("df4lcz") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
