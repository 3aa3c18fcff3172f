"""The shipped stemmer: English Snowball, by PyStemmer (a maintained C implementation)."""

from __future__ import annotations

from functools import lru_cache

import Stemmer  # PyStemmer

__all__ = ["SnowballStemmer"]


class SnowballStemmer:
    """Implements the core's ``Stemmer`` port with the Snowball algorithm of ``language``.

    Stems are cached (a catalog repeats its words), per instance.

    Args:
        language: A Snowball algorithm name PyStemmer knows (default ``"english"``).
        cache_size: How many words to remember.
    """

    def __init__(self, language: str = "english", *, cache_size: int = 65536) -> None:
        self.language = language
        self._stemmer = Stemmer.Stemmer(language)
        self._cached = lru_cache(maxsize=cache_size)(self._stemmer.stemWord)

    def stem(self, word: str) -> str:
        """The Snowball stem of ``word`` (folded: lower case, no accents)."""
        return str(self._cached(word))
