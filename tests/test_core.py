"""Core helpers: atomic writes, logging into the rule log, job files, pins, valid-sample table."""

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from df4lcz.atomic import atomic_path, write_text_atomic
from df4lcz.chipping.valid import valid_sample_table
from df4lcz.io.hdf5 import read_h5, write_h5
from df4lcz.io.valid import read_valid_ids
from df4lcz.logs import progress, setup_logging
from df4lcz.scripting import Job, NamedFiles, load_job

REPO = Path(__file__).resolve().parents[1]


def test_atomic_path_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_path_success_keeps_suffix_and_mode(tmp_path):
    target = tmp_path / "a.csv"
    seen = []
    with atomic_path(target) as tmp:
        seen.append(tmp.suffix)
        tmp.write_text("x")
    assert seen == [".csv"] and target.read_text() == "x"
    assert target.stat().st_mode & 0o044  # readable by others (not mkstemp's 0600)
    write_text_atomic(target, "y")
    assert target.read_text() == "y"


def test_atomic_path_requires_content(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.unlink()


def test_h5_round_trip_and_errors(tmp_path):
    path = tmp_path / "x.h5"
    write_h5(
        path, {"a": np.arange(5000).reshape(50, 10, 10), "b": np.array([1.5])}, {"names": ["r", "g"], "n": 3}
    )
    data, attrs = read_h5(path)
    assert data["a"].shape == (50, 10, 10) and data["a"][49, 9, 9] == 4999
    assert attrs == {"names": ["r", "g"], "n": 3}
    with pytest.raises(ValueError, match=r"missing dataset\(s\) \['c'\]"):
        read_h5(path, ["c"])
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.h5: not a readable HDF5 file"):
        read_h5(bad)
    with pytest.raises(FileNotFoundError, match="nope.h5: file not found"):
        read_h5(tmp_path / "nope.h5")


def test_logging_and_progress_into_log_file(tmp_path):
    log_file = tmp_path / "logs" / "rule.log"
    logger = setup_logging(log_file)
    for _ in progress(range(50), desc="chips", logger=logger):
        pass
    logger.info("done")
    text = log_file.read_text()
    assert "chips: 100%" in text and "50/50" in text and text.rstrip().endswith("done")
    setup_logging(log_file)  # again: handlers replaced, not stacked
    assert len(logging.getLogger("df4lcz").handlers) == 2


def test_job_json_round_trip(tmp_path):
    job = Job(
        "graphs",
        NamedFiles(["a.h5", "b.h5"], {"masks": "a.h5", "chips": "b.h5"}),
        NamedFiles(["g.h5"], {"graphs": "g.h5"}),
        {"graphs": {"k": 6}},
        {"shard": "3"},
        NamedFiles([str(tmp_path / "g.log")], {}),
        threads=2,
    )
    path = tmp_path / "g.log.job.json"
    path.write_text(job.to_json())
    back = load_job(None, [str(path)])
    assert back.input.masks == "a.h5" and back.output[0] == "g.h5" and back.params == {"graphs": {"k": 6}}
    assert back.wildcards == {"shard": "3"} and back.threads == 2
    with pytest.raises(AttributeError, match="no input/output named 'x'"):
        _ = back.input.x
    with pytest.raises(SystemExit, match="usage"):
        load_job(None, [])


def _chip_file(path, ids, excluded=()):
    write_h5(
        path,
        {
            "sample_id": np.asarray(ids, dtype=np.int64),
            "excluded_sample_id": np.asarray([e[0] for e in excluded], dtype=np.int64),
            "excluded_reason": np.asarray([e[1] for e in excluded], dtype=object).astype("S"),
        },
    )
    return path


def test_valid_samples_excluded_from_both_streams(tmp_path):
    g = _chip_file(tmp_path / "g.h5", [0, 1, 2, 4], [(3, "nodata")])
    s = _chip_file(tmp_path / "s.h5", [0, 2, 3, 4], [(1, "partial coverage")])
    table = valid_sample_table({"google": [g], "sentinel2": [s]})
    assert table.sample_id.tolist() == [0, 1, 2, 3, 4]
    assert table.valid.tolist() == [True, False, True, False, True]
    assert table.reason[1] == "sentinel2: partial coverage" and table.reason[3] == "google: nodata"
    path = tmp_path / "v.csv"
    table.to_csv(path, index=False)
    assert read_valid_ids(path) == {0, 2, 4}


def _pins_from_pyproject():
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"dependencies = \[(.*?)\]", text, re.S).group(1)
    return dict(re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', block))


def test_conda_env_pins_agree_with_pyproject():
    env = yaml.safe_load((REPO / "envs" / "df4lcz.yaml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    env_pins = dict(p.split("==") for p in pip)
    assert env_pins == _pins_from_pyproject()


def test_torch_and_torchvision_pinned_as_a_pair():
    pins = _pins_from_pyproject()
    assert (pins["torch"], pins["torchvision"]) == ("2.15.0", "0.29.2")
