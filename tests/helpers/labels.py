"""Label lookup used by the training tests: LCZ codes of sample ids from a ``sample_id → lcz`` mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from df4lcz.constants import validate_lcz_code


def labels_for(
    sample_ids: Sequence[int] | np.ndarray, lcz_by_id: Mapping[int, int], where: str = "sample table"
) -> np.ndarray:
    """LCZ codes ``(N,)`` int64 of ``sample_ids`` from the mapping ``sample_id → lcz``.

    Raises:
        ValueError: an id is missing from the mapping or its code is not 1–17.
    """
    out = np.empty(len(sample_ids), dtype=np.int64)
    for i, sid in enumerate(np.asarray(sample_ids, dtype=np.int64).tolist()):
        if sid not in lcz_by_id:
            raise ValueError(f"{where}: sample {sid} has no LCZ label")
        out[i] = validate_lcz_code(lcz_by_id[sid], f"{where}: label of sample {sid}")
    return out
