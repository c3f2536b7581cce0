"""The errors a user must fix, as classes, so that a bug never passes for a bad input.

All three subclass :class:`ValueError` (callers that catch ``ValueError`` keep working). Code that
reports problems to the user catches exactly these; anything else that escapes is a bug and
surfaces with its traceback.

* :class:`ConfigError`: a config value is wrong (unknown key, bad value, keys that contradict).
* :class:`InputError`: an input file the user gave is missing, unreadable or not what it should
  be (wrong CRS, bands, corrupt raster, unknown class code, …). The message names the file or the
  config key that names it.
* :class:`ContractError`: a stage file under ``results/`` (or a model file) breaks its contract
  (docs/contracts.md): written by another version, edited by hand, or from another configuration.
"""

from __future__ import annotations


class Df4lczError(ValueError):
    """Base of the errors a user can fix; the message says what was expected."""


class ConfigError(Df4lczError):
    """The configuration is invalid; the message lists every problem found, each naming its key."""


class InputError(Df4lczError):
    """An input file named by the configuration is missing, unreadable or not what was expected."""


class ContractError(Df4lczError):
    """A stage or model file does not hold what docs/contracts.md says it holds."""
