"""Glue between Snakemake's ``script:`` directive and the package, so scripts stay thin.

``load_job(snakemake)`` turns Snakemake's job object into a plain :class:`Job` and saves it as
``<log>.job.json`` beside the rule's log. The same script can then be run alone, outside
Snakemake, for debugging::

    python workflow_scripts/graphs.py logs/graphs/3.log.job.json

which rebuilds exactly the job that ran (inputs, outputs, params, wildcards, threads).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class NamedFiles(list):
    """A list of paths whose named entries are also attributes (like Snakemake's Namedlist)."""

    def __init__(self, items: list[str], names: dict[str, Any] | None = None) -> None:
        super().__init__(items)
        self._names = dict(names or {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_names"][name]
        except KeyError:
            raise AttributeError(
                f"no input/output named {name!r}; known names: {sorted(self._names)}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {"items": list(self), "names": self._names}


@dataclass
class Job:
    """What a workflow script needs from Snakemake: files, params, wildcards, threads, log."""

    rule: str
    input: NamedFiles
    output: NamedFiles
    params: dict[str, Any]
    wildcards: dict[str, str]
    log: NamedFiles
    threads: int = 1
    resources: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("input", "output", "log"):
            data[key] = getattr(self, key).as_dict()
        return json.dumps(data, indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        for key in ("input", "output", "log"):
            data[key] = NamedFiles(data[key]["items"], data[key]["names"])
        return cls(**data)


def _named(namedlist: Any) -> NamedFiles:
    names = {}
    for name, _ in namedlist._names.items():
        value = getattr(namedlist, name)
        names[name] = list(value) if isinstance(value, list) else str(value)
    return NamedFiles([str(x) for x in namedlist], names)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_job(snakemake: Any | None = None, argv: list[str] | None = None) -> Job:
    """Return the current job, from Snakemake's object or from a saved ``*.job.json`` path.

    Under Snakemake the job is also written to ``<log>.job.json`` for standalone reruns.
    """
    if snakemake is not None:
        params = {name: _plain(getattr(snakemake.params, name)) for name in snakemake.params._names}
        job = Job(
            rule=str(snakemake.rule),
            input=_named(snakemake.input),
            output=_named(snakemake.output),
            params=params,
            wildcards={k: str(v) for k, v in dict(snakemake.wildcards.items()).items()},
            log=_named(snakemake.log),
            threads=int(snakemake.threads),
            resources={
                k: v for k, v in dict(snakemake.resources.items()).items() if isinstance(v, (int, float, str))
            },
        )
        if len(job.log):
            Path(job.log[0]).parent.mkdir(parents=True, exist_ok=True)
            Path(f"{job.log[0]}.job.json").write_text(job.to_json(), encoding="utf-8")
        return job
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].endswith(".job.json"):
        raise SystemExit(
            "usage: python workflow_scripts/<script>.py <log>.job.json\n"
            "Run the rule once with Snakemake; it saves the job beside its log for standalone reruns."
        )
    return Job.from_json(Path(args[0]).read_text(encoding="utf-8"))


def run_stage(
    run: Callable[[Job], None], snakemake: Any | None = None, argv: list[str] | None = None
) -> None:
    """Load the current job (see :func:`load_job`), set up its log file and call ``run(job)``.

    Every ``workflow_scripts/<rule>.py`` is one call of this with ``df4lcz.stages.<rule>.run``.
    """
    from .logs import get_logger, setup_logging

    job = load_job(snakemake, argv)
    setup_logging(job.log[0] if len(job.log) else None)
    start = time.perf_counter()
    run(job)
    get_logger("job").info("%s: stage function done in %.3f s", job.rule, time.perf_counter() - start)
