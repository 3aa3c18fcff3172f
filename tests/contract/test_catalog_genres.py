"""Genres on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import GenreContract


class TestGenres(GenreContract):
    """Genres: create, rename, move (never into a cycle), delete when unused, list, tree."""
