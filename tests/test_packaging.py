"""The conda environment of the rules (envs/df4lcz.yaml) pins what pyproject.toml pins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11 (the env's and CI's); 3.10 has no TOML reader

REPO = Path(__file__).resolve().parents[1]


def _env_pins() -> tuple[str, list[str]]:
    env = yaml.safe_load((REPO / "envs" / "df4lcz.yaml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    return python, pip


def test_env_pins_the_project_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    _, pip = _env_pins()
    assert pip == project["dependencies"]
    assert all("==" in p for p in pip), pip  # exact pins: the env is reproducible


def test_env_python_satisfies_requires_python():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python, _ = _env_pins()
    major, minor = (int(v) for v in python.removeprefix("python=").split(".")[:2])
    required = project["requires-python"]  # e.g. ">=3.11"
    assert required.startswith(">="), required
    low = tuple(int(v) for v in required.removeprefix(">=").split(".")[:2])
    assert (major, minor) >= low, (python, required)
