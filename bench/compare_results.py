"""Compare two ``results/`` folders file by file: the check that a refactor changed no result.

Every file must be byte-identical, except where a byte comparison cannot hold between two identical
runs, which are compared by content instead:

* ``models/**/*.pt``: the tensors of ``state_dict`` (equal, not close) and every other field of the
  record (the ``torch.save`` archive embeds its temporary file name);
* ``models/**/*_history.csv``: every column but ``seconds`` (wall time).

Usage::

    .venv/bin/python bench/compare_results.py BEFORE/results AFTER/results

Prints one line per differing or missing file and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _same_model(a: Path, b: Path) -> str | None:
    ra, rb = (
        torch.load(a, map_location="cpu", weights_only=False),
        torch.load(b, map_location="cpu", weights_only=False),
    )
    sa, sb = ra.pop("state_dict"), rb.pop("state_dict")
    if list(sa) != list(sb):
        return "state_dict keys differ"
    for key in sa:
        if not torch.equal(sa[key], sb[key]):
            return f"tensor {key} differs"
    if ra != rb:
        keys = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
        return f"record fields differ: {keys}"
    return None


def _same_history(a: Path, b: Path) -> str | None:
    da, db = pd.read_csv(a).drop(columns="seconds"), pd.read_csv(b).drop(columns="seconds")
    return None if da.equals(db) else "history differs (besides seconds)"


def compare(before: Path, after: Path) -> list[str]:
    """Problems found, one line each (empty: the folders hold the same results)."""
    fa, fb = _files(before), _files(after)
    problems = [f"only in {before}: {f}" for f in sorted(fa - fb)] + [
        f"only in {after}: {f}" for f in sorted(fb - fa)
    ]
    for rel in sorted(fa & fb):
        a, b = before / rel, after / rel
        if rel.endswith(".pt"):
            why = _same_model(a, b)
        elif rel.endswith("_history.csv"):
            why = _same_history(a, b)
        else:
            why = None if a.read_bytes() == b.read_bytes() else "bytes differ"
        if why:
            problems.append(f"{rel}: {why}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    n = len(_files(args.before) | _files(args.after))
    for line in problems:
        print(line)
    print(f"{n} files compared, {len(problems)} differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
