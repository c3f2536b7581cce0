"""Small seeded files in the published LCZC-GES2 and So2Sat LCZ42 formats (test-only).

Both fixtures carry class signal, so a model trained on them learns above chance:

* Sentinel-2 patches: every class has its own mean spectrum (10 reflectances drawn once per
  class); a patch is that spectrum plus a smooth per-patch offset and per-pixel noise.
* Graph nodes (LCZC-GES2): every class has its own mean node colour (R, G, B in [0, 1]); node
  colours scatter around it, node centres (cx, cy) are uniform in [0, 1]. Nodes whose centres lie
  within :data:`EDGE_RADIUS` are joined; ``a`` is stored symmetrically normalised
  (``D^-1/2 A D^-1/2``, zero diagonal), so importers must treat any nonzero entry as an edge.

Classes are dealt round-robin over the samples (then shuffled), so every class of ``classes``
occurs when there are enough samples.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from df4lcz.constants import LCZ_CODES, N_CLASSES, S2_BANDS, S2_CHIP_PX, S2_REFLECTANCE_SCALE
from helpers.graphs import gcn_norm_dense

#: Node-centre distance (in [0, 1] chip units) under which fixture graph nodes are joined.
EDGE_RADIUS: float = 0.35

#: Range of the number of nodes of a fixture graph (inclusive).
NODES_RANGE: tuple[int, int] = (3, 12)

#: Noise of the fixture patches (reflectance) and node colours.
PIXEL_NOISE: float = 0.02
PATCH_OFFSET_NOISE: float = 0.03
NODE_COLOUR_NOISE: float = 0.06

#: Shares of train, validation and test in the fixture split pickles.
SPLIT_SHARES: tuple[float, float, float] = (0.6, 0.2, 0.2)

#: Samples per "polygon" in the polygon split pickle (consecutive ids share a polygon).
POLYGON_SIZE: int = 4

#: Names of the two split pickles written by :func:`write_lczc_ges2_fixture`.
SPLIT_FILES: tuple[str, str] = ("split_random.pkl", "split_polygon.pkl")

#: Default sizes (training, validation, testing) of :func:`write_so2sat_fixture`.
SO2SAT_SIZES: tuple[int, int, int] = (51, 17, 17)

#: Sentinel-1 channels of a So2Sat file (written for format fidelity, not used).
SEN1_CHANNELS: int = 8

PathLike = str | os.PathLike


@dataclass
class LczcGes2Fixture:
    """What :func:`write_lczc_ges2_fixture` wrote (arrays exactly as stored).

    Attributes:
        root: dataset folder.
        sample_id: ``(N,)`` int64 indices ``i`` of the files.
        lcz: ``(N,)`` int64 codes 1–17.
        images: ``(N, 32, 32, 10)`` patches as stored (float32 reflectance, or uint16 DN).
        x: per sample the ``(n, 5)`` float32 node features.
        a: per sample the ``(n, n)`` float32 normalised adjacency.
        splits: pickle file name → ``{"train", "validation", "test"}`` → ids.
        s2_paths, graph_paths: the written files, in ``sample_id`` order.
    """

    root: Path
    sample_id: np.ndarray
    lcz: np.ndarray
    images: np.ndarray
    x: list[np.ndarray] = field(default_factory=list)
    a: list[np.ndarray] = field(default_factory=list)
    splits: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    s2_paths: list[Path] = field(default_factory=list)
    graph_paths: list[Path] = field(default_factory=list)


@dataclass
class So2SatFixture:
    """What :func:`write_so2sat_fixture` wrote.

    Attributes:
        files: ``{"training": path, "validation": path, "testing": path}``.
        sen2: file key → ``(N, 32, 32, 10)`` float64 reflectance as stored.
        label: file key → ``(N, 17)`` float64 one-hot as stored.
    """

    files: dict[str, Path]
    sen2: dict[str, np.ndarray]
    label: dict[str, np.ndarray]


def class_spectra(seed: int) -> np.ndarray:
    """``(17, 10)`` float32 mean reflectance per class (row k ↔ LCZ code k + 1), in [0.03, 0.6]."""
    rng = np.random.default_rng([seed, 1])
    return (0.03 + 0.57 * rng.random((N_CLASSES, len(S2_BANDS)))).astype(np.float32)


def class_colours(seed: int) -> np.ndarray:
    """``(17, 3)`` float32 mean node colour per class, in [0.1, 0.9]."""
    rng = np.random.default_rng([seed, 2])
    return (0.1 + 0.8 * rng.random((N_CLASSES, 3))).astype(np.float32)


def _deal_classes(n: int, classes: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    codes = np.asarray(list(classes), dtype=np.int64)
    if codes.size == 0 or codes.min() < 1 or codes.max() > N_CLASSES:
        raise ValueError(f"classes: {list(classes)} must be LCZ codes 1–{N_CLASSES}")
    return rng.permutation(np.resize(codes, n))


def _patches(lcz: np.ndarray, spectra: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(N, 32, 32, 10)`` float32 reflectance patches with class spectra."""
    n = len(lcz)
    base = spectra[lcz - 1][:, None, None, :]
    offset = rng.normal(0.0, PATCH_OFFSET_NOISE, size=(n, 1, 1, len(S2_BANDS)))
    noise = rng.normal(0.0, PIXEL_NOISE, size=(n, S2_CHIP_PX, S2_CHIP_PX, len(S2_BANDS)))
    return np.clip(base + offset + noise, 0.001, 0.999).astype(np.float32)


def _graph(code: int, colours: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One fixture graph: ``x`` ``(n, 5)`` float32 and its normalised ``a`` ``(n, n)`` float32."""
    n = int(rng.integers(NODES_RANGE[0], NODES_RANGE[1] + 1))
    rgb = np.clip(colours[code - 1] + rng.normal(0.0, NODE_COLOUR_NOISE, size=(n, 3)), 0.0, 1.0)
    centres = rng.random((n, 2))
    x = np.concatenate([rgb, centres], axis=1).astype(np.float32)
    d = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1))
    adj = (d <= EDGE_RADIUS).astype(np.float64)
    return x, gcn_norm_dense(adj).astype(np.float32)


def _split_ids(ids: np.ndarray, rng: np.random.Generator, group: int) -> dict[str, np.ndarray]:
    """Deal ``ids`` (in groups of ``group`` consecutive ids) to train/validation/test."""
    groups = [ids[k : k + group] for k in range(0, len(ids), group)]
    order = rng.permutation(len(groups))
    n_train = int(round(SPLIT_SHARES[0] * len(groups)))
    n_val = int(round(SPLIT_SHARES[1] * len(groups)))
    parts = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {
        key: np.sort(np.concatenate([groups[g] for g in idx]) if len(idx) else np.zeros(0, np.int64))
        for key, idx in parts.items()
    }


def write_lczc_ges2_fixture(
    root: PathLike,
    n_samples: int = 68,
    seed: int = 0,
    first_id: int = 0,
    classes: Sequence[int] = LCZ_CODES,
    dn: bool = False,
    graph_label: str = "onehot",
) -> LczcGes2Fixture:
    """Write a small LCZC-GES2 dataset in the published layout.

    Files: ``root/sen2/sen2_image_{i}.npz`` (``image`` (32, 32, 10), ``label`` int64 scalar 1–17),
    ``root/graph/graph_{i}.npz`` (``x`` (n, 5) float32, ``a`` (n, n) float32, ``y``),
    ``root/split_random.pkl`` (train/validation/test lists of python ints over a random
    permutation) and ``root/split_polygon.pkl`` (numpy arrays; groups of :data:`POLYGON_SIZE`
    consecutive ids go to one split), with ``i = first_id … first_id + n_samples - 1``.

    Args:
        root: output folder (created).
        n_samples: number of samples.
        seed: seed of everything drawn.
        first_id: index of the first sample.
        classes: LCZ codes to deal round-robin.
        dn: store the patches as uint16 digital numbers (reflectance × 10000) instead of float32.
        graph_label: ``"onehot"`` (``y`` float32 (17,)) or ``"scalar"`` (``y`` int64 code).

    Returns:
        The arrays written (:class:`LczcGes2Fixture`).
    """
    if n_samples < 1:
        raise ValueError(f"n_samples: {n_samples} must be ≥ 1")
    if graph_label not in ("onehot", "scalar"):
        raise ValueError(f"graph_label: {graph_label!r}; expected 'onehot' or 'scalar'")
    base = Path(root)
    (base / "sen2").mkdir(parents=True, exist_ok=True)
    (base / "graph").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 0])
    ids = np.arange(first_id, first_id + n_samples, dtype=np.int64)
    lcz = _deal_classes(n_samples, classes, rng)
    refl = _patches(lcz, class_spectra(seed), rng)
    images = np.round(refl * S2_REFLECTANCE_SCALE).astype(np.uint16) if dn else refl
    colours = class_colours(seed)
    fixture = LczcGes2Fixture(root=base, sample_id=ids, lcz=lcz, images=images)
    for k, (i, code) in enumerate(zip(ids.tolist(), lcz.tolist())):
        s2_path = base / "sen2" / f"sen2_image_{i}.npz"
        np.savez_compressed(s2_path, image=images[k], label=np.int64(code))
        x, a = _graph(code, colours, rng)
        if graph_label == "onehot":
            y = np.zeros(N_CLASSES, dtype=np.float32)
            y[code - 1] = 1.0
        else:
            y = np.int64(code)
        graph_path = base / "graph" / f"graph_{i}.npz"
        np.savez_compressed(graph_path, x=x, a=a, y=y)
        fixture.x.append(x)
        fixture.a.append(a)
        fixture.s2_paths.append(s2_path)
        fixture.graph_paths.append(graph_path)
    random_split = _split_ids(rng.permutation(ids), rng, 1)
    polygon_split = _split_ids(ids, rng, POLYGON_SIZE)
    fixture.splits = {SPLIT_FILES[0]: random_split, SPLIT_FILES[1]: polygon_split}
    with open(base / SPLIT_FILES[0], "wb") as f:
        pickle.dump({k: [int(i) for i in v] for k, v in random_split.items()}, f)
    with open(base / SPLIT_FILES[1], "wb") as f:
        pickle.dump(polygon_split, f)
    return fixture


def write_so2sat_fixture(
    directory: PathLike,
    n: tuple[int, int, int] = SO2SAT_SIZES,
    seed: int = 0,
    classes: Sequence[int] = LCZ_CODES,
) -> So2SatFixture:
    """Write ``training.h5``, ``validation.h5`` and ``testing.h5`` in the So2Sat LCZ42 layout.

    Each file holds ``sen1`` ``(N, 32, 32, 8)``, ``sen2`` ``(N, 32, 32, 10)`` (float64
    reflectance with class spectra) and ``label`` ``(N, 17)`` (float64 one-hot).

    Args:
        directory: output folder (created).
        n: patches in training, validation and testing.
        seed: seed of everything drawn.
        classes: LCZ codes to deal round-robin within each file.

    Returns:
        The files and the arrays written (:class:`So2SatFixture`).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    spectra = class_spectra(seed)
    fixture = So2SatFixture(files={}, sen2={}, label={})
    for k, (name, size) in enumerate(zip(("training", "validation", "testing"), n)):
        rng = np.random.default_rng([seed, 10 + k])
        codes = _deal_classes(int(size), classes, rng) if size else np.zeros(0, np.int64)
        sen2 = _patches(codes, spectra, rng).astype(np.float64)
        label = np.zeros((int(size), N_CLASSES), dtype=np.float64)
        label[np.arange(int(size)), codes - 1] = 1.0
        sen1 = rng.normal(0.0, 1e-3, size=(int(size), S2_CHIP_PX, S2_CHIP_PX, SEN1_CHANNELS))
        path = out / f"{name}.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("sen1", data=sen1)
            f.create_dataset("sen2", data=sen2)
            f.create_dataset("label", data=label)
        fixture.files[name], fixture.sen2[name], fixture.label[name] = path, sen2, label
    return fixture
