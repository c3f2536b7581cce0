"""Named constants shared by every stage: LCZ classes, Sentinel-2 bands, sample geometry.

LCZ definitions follow Stewart & Oke (2012), "Local Climate Zones for Urban Temperature
Studies", BAMS 93(12). The land-cover types A–G are encoded 11–17 everywhere in this
project, and class labels seen by users are always 1–17.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Number of LCZ classes.
N_CLASSES: int = 17

#: LCZ class codes as used in every file a user sees (1–10 built, 11–17 = A–G land cover).
LCZ_CODES: tuple[int, ...] = tuple(range(1, N_CLASSES + 1))

#: Codes of the built types (LCZ 1–10); OA_BU is measured over these.
BUILT_CODES: tuple[int, ...] = tuple(range(1, 11))

#: Codes of the land-cover types (LCZ A–G = 11–17); OA_N is measured over these.
NATURAL_CODES: tuple[int, ...] = tuple(range(11, 18))

#: Short human-readable names, indexed by code.
LCZ_NAMES: dict[int, str] = {
    1: "Compact high-rise",
    2: "Compact mid-rise",
    3: "Compact low-rise",
    4: "Open high-rise",
    5: "Open mid-rise",
    6: "Open low-rise",
    7: "Lightweight low-rise",
    8: "Large low-rise",
    9: "Sparsely built",
    10: "Heavy industry",
    11: "A Dense trees",
    12: "B Scattered trees",
    13: "C Bush, scrub",
    14: "D Low plants",
    15: "E Bare rock or paved",
    16: "F Bare soil or sand",
    17: "G Water",
}

#: Labels used on figure axes (1..10, A..G).
LCZ_SHORT: dict[int, str] = {c: (str(c) if c <= 10 else "ABCDEFG"[c - 11]) for c in LCZ_CODES}

#: The standard LCZ colour table (WUDAPT / Demuzere et al. 2022 legend), RGB 0–255.
LCZ_COLORS: dict[int, tuple[int, int, int]] = {
    1: (140, 0, 0),
    2: (209, 0, 0),
    3: (255, 0, 0),
    4: (191, 77, 0),
    5: (255, 102, 0),
    6: (255, 153, 85),
    7: (250, 238, 5),
    8: (188, 188, 188),
    9: (255, 204, 170),
    10: (85, 85, 85),
    11: (0, 106, 0),
    12: (0, 170, 0),
    13: (100, 133, 37),
    14: (185, 219, 121),
    15: (0, 0, 0),
    16: (251, 247, 174),
    17: (106, 106, 255),
}

#: The ten Sentinel-2 bands used by DF4LCZ, in So2Sat LCZ42 order.
S2_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")

#: Native ground sampling distance (m) of each Sentinel-2 band.
S2_BAND_RESOLUTION: dict[str, int] = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
}

#: Divisor that turns Sentinel-2 L1C/L2A digital numbers into reflectance.
S2_REFLECTANCE_SCALE: float = 10000.0

#: Side of one sample square on the ground (m), as in DF4LCZ.
SAMPLE_SIZE_M: float = 320.0

#: Google Earth chip side in pixels (≈1 m per pixel over 320 m).
GOOGLE_CHIP_PX: int = 320

#: Sentinel-2 chip side in pixels (10 m per pixel over 320 m).
S2_CHIP_PX: int = 32

#: Names of the split values in ``results/splits/{strategy}.csv``.
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def validate_lcz_code(code: int, where: str = "label") -> int:
    """Return ``code`` as int if it is a valid LCZ code (1–17), else raise ``ValueError``.

    Args:
        code: candidate class code.
        where: description of the source used in the error message (file, column, key).
    """
    try:
        value = int(code)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {code!r} is not an LCZ class code; expected an integer 1–17") from None
    if value != code or not 1 <= value <= N_CLASSES:
        raise ValueError(f"{where}: {code!r} is not an LCZ class code; expected an integer 1–17")
    return value


def codes_to_index(y: Sequence[int] | np.ndarray, where: str) -> np.ndarray:
    """LCZ codes 1–17 ``(N,)`` → class indices 0–16 ``(N,)`` int64.

    Raises:
        ValueError: a value is not an integer code 1–17.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{where}: labels must be a 1-D array of LCZ codes, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{where}: labels must be integer LCZ codes 1–{N_CLASSES}, got dtype {arr.dtype}")
    as_int = np.nan_to_num(arr, nan=0).astype(np.int64)
    bad = (as_int != arr) | (as_int < 1) | (as_int > N_CLASSES)
    if bad.any():
        raise ValueError(
            f"{where}: labels {np.unique(arr[bad])[:10].tolist()} are not LCZ codes; expected integers 1–{N_CLASSES}"
        )
    return as_int - 1


# --------------------------------------------------------------------------------------------
# Names: the one home of model, dataset and stream names (the schema's enums are checked
# against these by tests/test_config.py).
# --------------------------------------------------------------------------------------------

#: DF4LCZ's own Sentinel-2 model.
MAIN_S2_MODEL: str = "resnet11_3d"

#: The paper's comparative Sentinel-2 baselines (``models.baselines``).
S2_BASELINES: tuple[str, ...] = ("resnet11_2d", "resnet50_2d", "densenet_2d", "msmla50")

#: Every Sentinel-2 model name.
S2_MODEL_NAMES: tuple[str, ...] = (MAIN_S2_MODEL, *S2_BASELINES)

#: The graph model.
GCN_MODEL_NAME: str = "gcn"

#: Models that are trained (one ``results/models/{strategy}/{model}.pt`` each).
TRAINED_MODEL_NAMES: tuple[str, ...] = (*S2_MODEL_NAMES, GCN_MODEL_NAME)

#: Fusion outputs: the paper's fusion of the raw stream probabilities with the fixed α and with α
#: tuned on the validation split, then the same two after temperature-scaling each stream on val
#: (``fusion.calibrate``).
FUSION_MODEL_NAMES: tuple[str, ...] = ("df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned")

#: The paper's two fusion outputs (raw probabilities), made whether or not ``fusion.calibrate`` is set.
PAPER_FUSION_MODEL_NAMES: tuple[str, ...] = FUSION_MODEL_NAMES[:2]

#: Split strategy whose evaluation resamples whole polygons (cluster bootstrap of the metrics).
POLYGON_STRATEGY: str = "polygon"

#: Split strategy that tests on whole regions (``splits.test_regions``) and trains on the others.
REGION_STRATEGY: str = "region"

#: Strategies whose test samples are resampled by whole polygon in the bootstrap of the metrics.
CLUSTERED_STRATEGIES: tuple[str, ...] = (POLYGON_STRATEGY, REGION_STRATEGY)

#: Every model name a prediction file may carry.
ALL_MODEL_NAMES: tuple[str, ...] = (*TRAINED_MODEL_NAMES, *FUSION_MODEL_NAMES)

#: Values of the ``dataset`` config key: the embedded demo, user rasters, and the two importers.
DATASETS: tuple[str, ...] = ("demo", "regions", "lczc_ges2", "so2sat")

#: Datasets imported as pre-cut patches (no rasters, no chipping or segmentation).
IMPORTED_DATASETS: tuple[str, ...] = ("lczc_ges2", "so2sat")

#: Split strategies (``splits.strategies``); ``official`` only for So2Sat; ``region`` only for
#: datasets with regions (demo, regions).
SPLIT_STRATEGIES: tuple[str, ...] = ("random", "polygon", "official", "region")

#: Per-shard stage files a sample must be present in, by stream, and where they live.
STREAM_DIRS: dict[str, str] = {"google": "chips/google", "graphs": "graphs", "sentinel2": "chips/sentinel2"}
