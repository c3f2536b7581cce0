"""Packaging: the conda environment of the rules (envs/df4lcz.yaml) pins what pyproject.toml pins; the
version has one source; LICENSE and CITATION.cff are there and agree with it; torch_geometric is imported
in one place."""

from __future__ import annotations

import ast
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


# --- one version, licence and citation ---------------------------------------------------------


def test_version_has_one_source():
    import df4lcz

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]  # pyproject reads it ...
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "df4lcz.__version__"}
    # ... from the one assignment in the package
    assigned = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "src").rglob("*.py")
        if "__version__ = " in p.read_text(encoding="utf-8")
    ]
    assert assigned == ["src/df4lcz/__init__.py"]
    assert df4lcz.__version__ and df4lcz.__version__[0].isdigit()


def test_installed_metadata_version_is_the_package_version():
    from importlib.metadata import version

    import df4lcz

    # the metadata is written at install time: after changing __version__, reinstall (pip install -e .)
    assert version("df4lcz") == df4lcz.__version__, "installed metadata is stale: pip install -e ."


def test_license_is_mit_as_declared():
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "the DF4LCZ workflow contributors" in text
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "MIT"}


def test_citation_cff_parses_and_names_this_version():
    import df4lcz

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(cff["cff-version"]).startswith("1.2")
    assert cff["title"] and cff["authors"]
    assert str(cff["version"]) == df4lcz.__version__
    assert cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert paper["title"].startswith("DF4LCZ")
    assert [a["family-names"] for a in paper["authors"]] == ["Wu", "Ma", "Sui", "Pun"]
    assert (paper["volume"], paper["year"]) == (62, 2024)


def test_torch_geometric_has_one_import_site():
    """Importing torch_geometric prints torch's ``torch.jit.script`` FutureWarning; ``df4lcz.pyg``
    imports it with exactly that warning silenced, so every other module takes its names from there."""
    sites = []
    for path in sorted([*(REPO / "src").rglob("*.py"), *(REPO / "workflow_scripts").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(n == "torch_geometric" or n.startswith("torch_geometric.") for n in names):
                sites.append(str(path.relative_to(REPO)))
    assert sorted(set(sites)) == ["src/df4lcz/pyg.py"]
