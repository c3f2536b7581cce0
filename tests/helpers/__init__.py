"""Test-only helpers (fixture writers, dense reference computations); not part of the package."""
