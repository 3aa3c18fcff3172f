"""The shipped stemmer: English Snowball, by PyStemmer (a maintained C implementation)."""

from __future__ import annotations

from collections.abc import Sequence

import Stemmer  # PyStemmer

__all__ = ["SnowballStemmer"]


class SnowballStemmer:
    """Implements the core's ``Stemmer`` and ``BatchStemmer`` ports with the Snowball
    algorithm of ``language``.

    Stems are memoised (a catalog repeats its words), per instance, in a memo of at most
    ``cache_size`` words that is emptied when full (cheaper to keep than a least-recently-used
    order, and a catalog's common words are back in it after a few books).

    Args:
        language: A Snowball algorithm name PyStemmer knows (default ``"english"``).
        cache_size: How many words to remember.
    """

    def __init__(self, language: str = "english", *, cache_size: int = 65536) -> None:
        self.language = language
        # PyStemmer's own cache is off: the memo below answers before it would be asked.
        self._stemmer = Stemmer.Stemmer(language, 0)
        self._cache_size = cache_size
        self._memo: dict[str, str] = {}

    def stem(self, word: str) -> str:
        """The Snowball stem of ``word`` (folded: lower case, no accents)."""
        found = self._memo.get(word)
        if found is None:
            found = str(self._stemmer.stemWord(word))
            self._remember({word: found})
        return found

    def stem_words(self, words: Sequence[str]) -> list[str]:
        """The Snowball stems of ``words``, in order: the words not in the memo are stemmed
        in one call to PyStemmer."""
        memo = self._memo
        try:
            return list(map(memo.__getitem__, words))  # the usual case: every word known
        except KeyError:
            pass
        stems: dict[str, str] = {}
        missing: list[str] = []
        for word in set(words):
            found = memo.get(word)
            if found is None:
                missing.append(word)
            else:
                stems[word] = found
        new = dict(zip(missing, map(str, self._stemmer.stemWords(missing)), strict=True))
        self._remember(new)
        stems.update(new)
        return list(map(stems.__getitem__, words))

    def _remember(self, stems: dict[str, str]) -> None:
        if len(self._memo) + len(stems) > self._cache_size:
            self._memo = {}
        if len(stems) <= self._cache_size:
            self._memo.update(stems)
