"""Log records of the package logger, for tests that assert warnings (it may not propagate to caplog)."""

from __future__ import annotations

import logging
from collections.abc import Iterator


class KeepRecords(logging.Handler):
    """A handler that keeps every record of level INFO and above."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def kept_records() -> Iterator[list[logging.LogRecord]]:
    """Attach a :class:`KeepRecords` to the ``df4lcz`` logger (at INFO), yield its list, detach."""
    handler = KeepRecords()
    logger = logging.getLogger("df4lcz")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def warning_messages(records: list[logging.LogRecord]) -> list[str]:
    """The messages of the records of level WARNING and above."""
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]
