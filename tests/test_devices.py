"""Device settings: which a config uses, and which this machine can honour (checked before any job)."""

from __future__ import annotations

import pytest
import torch

from df4lcz.config import validate_config
from df4lcz.devices import device_problems, resolve_device, used_device_settings


def config(**sections) -> dict:
    return validate_config(sections)


def test_used_device_settings_follow_the_backend_and_dataset():
    assert used_device_settings(config(train={"device": "cuda:1"})) == {"train.device": "cuda:1"}  # classical
    sam = {"backend": "sam", "sam": {"device": "cuda"}}
    assert used_device_settings(config(segment=sam)) == {"train.device": "auto", "segment.sam.device": "cuda"}
    # an imported dataset is not segmented: its SAM setting is not used
    imported = config(
        segment=sam,
        dataset="so2sat",
        splits={"strategies": ["official"]},
        so2sat={"training": "t.h5", "validation": "v.h5", "testing": "s.h5"},
    )
    assert used_device_settings(imported) == {"train.device": "auto"}


@pytest.mark.parametrize(
    "device,cuda,mps,expected",
    [
        ("cpu", 0, False, None),
        ("auto", 0, False, None),
        ("cuda", 1, False, None),
        ("cuda:1", 2, False, None),
        (
            "cuda",
            0,
            False,
            "config key 'train.device': 'cuda' needs a CUDA GPU but this machine has none; set it to 'auto'",
        ),
        ("cuda:0", 0, False, "'cuda:0' needs a CUDA GPU but this machine has none"),
        (
            "cuda:2",
            2,
            False,
            "config key 'train.device': 'cuda:2' but this machine has 2 CUDA device(s) (cuda:0 … cuda:1)",
        ),
        ("mps", 1, False, "config key 'train.device': 'mps' needs Apple's Metal backend"),
        ("mps", 0, True, None),
    ],
)
def test_device_problems(device, cuda, mps, expected):
    problems = device_problems({"train.device": device}, cuda_devices=cuda, mps_available=mps)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0]


def test_every_setting_is_checked():
    problems = device_problems(
        {"train.device": "cuda", "segment.sam.device": "cuda:0"}, cuda_devices=0, mps_available=False
    )
    assert [p.split(":")[0] for p in problems] == [
        "config key 'train.device'",
        "config key 'segment.sam.device'",
    ]


def test_resolve_device_names_the_key():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match=r"config key 'train\.device': device 'gpu0' is not a torch device"):
        resolve_device("gpu0", key="train.device")
    if not torch.cuda.is_available():
        with pytest.raises(
            ValueError,
            match=r"config key 'segment\.sam\.device': device 'cuda' requested but "
            r"CUDA is not available on this machine; set it to 'auto'",
        ):
            resolve_device("cuda", key="segment.sam.device")
