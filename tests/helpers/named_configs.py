"""The named end-to-end configurations of ``tests/configs/`` and the inputs each one reads.

Each config names its inputs by paths relative to the run's working directory (under ``fixtures/``,
or ``previous_run/`` for the map-only run), so the same file serves the tests and a person running
it by hand::

    .venv/bin/python tests/configs/make_fixtures.py /tmp/so2sat so2sat
    .venv/bin/snakemake -s Snakefile -d /tmp/so2sat --configfile tests/configs/so2sat.yaml -n all

The fixtures are seeded: the same call writes the same files.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from helpers.importer_fixtures import write_lczc_ges2_fixture, write_so2sat_fixture

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

#: LCZ codes the importer fixtures deal out.
CLASSES: list[int] = [2, 6, 11, 14]
#: Patches of the So2Sat fixture in training, validation and testing.
SO2SAT_SIZES: tuple[int, int, int] = (48, 16, 16)
#: Samples of the LCZC-GES2 fixture.
LCZC_SAMPLES: int = 60
#: Seed of the tiny SAM's random weights (``segment.sam.checkpoint`` of sam.yaml).
SAM_SEED: int = 0


def config_path(name: str) -> Path:
    """``tests/configs/<name>.yaml``."""
    path = CONFIGS / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no named config {name!r}; known: {sorted(FIXTURES)}")
    return path


def load_config(name: str) -> dict[str, Any]:
    """The named config as a dict (to change a setting in a test)."""
    return yaml.safe_load(config_path(name).read_text(encoding="utf-8"))


def _sam(work: Path, previous_run: Path | None) -> Any:
    from df4lcz.segmentation.sam import build_tiny_sam_checkpoint

    return build_tiny_sam_checkpoint(work / "fixtures" / "sam_tiny.pth", seed=SAM_SEED)


def _lczc_ges2(work: Path, previous_run: Path | None) -> Any:
    return write_lczc_ges2_fixture(
        work / "fixtures" / "lczc_ges2", n_samples=LCZC_SAMPLES, seed=3, classes=CLASSES
    )


def _so2sat(work: Path, previous_run: Path | None) -> Any:
    return write_so2sat_fixture(work / "fixtures" / "so2sat", n=SO2SAT_SIZES, seed=2, classes=CLASSES)


def _map_only(work: Path, previous_run: Path | None) -> Any:
    if previous_run is None:
        raise ValueError(
            "map_only reads the models and rasters of a finished tiny run: give --previous-run DIR"
        )
    link = work / "previous_run"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(previous_run).resolve(), target_is_directory=True)
    return link


#: Named config → the function writing its inputs into a working directory.
FIXTURES: dict[str, Callable[[Path, Path | None], Any]] = {
    "sam": _sam,
    "map_only": _map_only,
    "lczc_ges2": _lczc_ges2,
    "so2sat": _so2sat,
}


def make_fixtures(name: str, work: str | os.PathLike, previous_run: str | os.PathLike | None = None) -> Any:
    """Write the inputs of the named config into ``work`` (created); returns what the writer returns."""
    if name not in FIXTURES:
        raise ValueError(f"no named config {name!r}; known: {sorted(FIXTURES)}")
    path = Path(work)
    path.mkdir(parents=True, exist_ok=True)
    return FIXTURES[name](path, Path(previous_run) if previous_run is not None else None)


def main(argv: list[str] | None = None) -> None:
    """Command line of ``tests/configs/make_fixtures.py``."""
    ap = argparse.ArgumentParser(
        description="Write the inputs of a named config of tests/configs/ into WORKDIR."
    )
    ap.add_argument("workdir", type=Path, help="the run's working directory (snakemake -d WORKDIR)")
    ap.add_argument("name", choices=sorted(FIXTURES), help="the named config")
    ap.add_argument("--previous-run", type=Path, help="map_only: a finished run of tests/data/tiny.yaml")
    opts = ap.parse_args(argv)
    make_fixtures(opts.name, opts.workdir, opts.previous_run)
    print(
        f"inputs of {opts.name} written to {opts.workdir}; dry run:\n"
        f"  snakemake -s {CONFIGS.parents[1] / 'Snakefile'} -d {opts.workdir} "
        f"--configfile {config_path(opts.name)} -n all"
    )
