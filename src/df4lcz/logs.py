"""One logging helper for every workflow script.

``setup_logging(log_file)`` sends the package's log records to the rule's ``log:`` file (and
to stderr when run interactively), and ``progress(iterable, ...)`` wraps long loops in a tqdm
bar whose lines also land in the log, throttled so logs stay readable.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

LOGGER_NAME = "df4lcz"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def get_logger(name: str | None = None) -> logging.Logger:
    """Return the package logger or one of its children (``df4lcz.<name>``)."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name.removeprefix('df4lcz.')}")


def setup_logging(log_file: str | os.PathLike | None = None, level: int | str = "INFO") -> logging.Logger:
    """Configure the ``df4lcz`` logger to write to ``log_file`` and stderr.

    Safe to call more than once (handlers are replaced, not stacked). Uncaught exceptions are
    also written to the log so a failed job's log tells why it failed.

    Args:
        log_file: the rule's ``log:`` path; ``None`` logs to stderr only.
        level: logging level name or number.

    Returns:
        The configured package logger.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(_FORMAT)
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        file_handler = logging.FileHandler(log_file, mode="w", encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    logger.addHandler(stream)
    logger.propagate = False

    def _excepthook(exc_type, exc, tb):  # pragma: no cover - exercised by failing jobs
        logger.error("job failed", exc_info=(exc_type, exc, tb))

    sys.excepthook = _excepthook
    return logger


class _LogWriter:
    """File-like adapter so tqdm prints its bar through the logger."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, text: str) -> None:
        text = text.strip("\r\n ")
        if text:
            self.logger.info(text)

    def flush(self) -> None:  # tqdm calls it
        pass


def progress(
    iterable: Iterable[T], desc: str, total: int | None = None, logger: logging.Logger | None = None
) -> Iterator[T]:
    """Iterate with a progress bar written into the log (at most ~every 10 s or 10 %)."""
    log = logger or get_logger()
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    bar = tqdm(
        iterable,
        desc=desc,
        total=total,
        file=_LogWriter(log),
        mininterval=10.0,
        miniters=max(1, (total or 10) // 10),
        ascii=True,
        dynamic_ncols=False,
        ncols=90,
    )
    yield from bar
