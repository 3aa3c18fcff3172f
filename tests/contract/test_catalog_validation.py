"""Validation on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import ValidationContract


class TestValidation(ValidationContract):
    """Validation: every kind of bad input, every bad field named, nothing changed."""
