"""A generated catalog with realistic word frequencies, for the search benchmark.

The vocabulary is ranked like natural language: the words of the demo catalog
(``bookshop_adapters/demo/books.csv``: 387 real titles and blurbs) in the order of their
frequency there (so "the", "a", "of" lead, as in English), followed by a long tail of
generated, pronounceable words (some with English endings, so that stemming has work to do).
Every title and description word is drawn from that ranked vocabulary with Zipf weights
``1 / rank**s``; authors come from a pool of names built from the demo authors' first and last
names (accents included), drawn with Zipf weights too (a few prolific authors, a long tail).
Titles have 2-8 words, descriptions 20-80. Everything is a function of the seed.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

from attrs import frozen

from bookshop_adapters.demo.seed import demo_rows
from bookshop_core.catalog.entities import NewBook

__all__ = ["Corpus", "GeneratedBook", "Vocabulary", "demo_genre_paths"]

#: Zipf exponent of word and author frequencies (about 1 for English text).
ZIPF_S: Final = 1.0
#: Distinct words the catalog may use (the demo's ~2,700 plus a generated tail).
VOCABULARY_SIZE: Final = 50_000
#: Distinct authors in the pool.
AUTHORS: Final = 5_000
TITLE_WORDS: Final = (2, 8)
DESCRIPTION_WORDS: Final = (20, 80)
#: Share of books out of stock (the ``in_stock`` filter drops them).
OUT_OF_STOCK: Final = 0.15

_LETTERS = re.compile(r"[^\W\d_]+")
_ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "pr",
           "qu", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "io")
_CODAS = ("", "", "", "n", "r", "l", "s", "m", "nd", "rt", "st")
_ENDINGS = ("", "", "", "", "", "s", "ing", "ed", "er", "ly", "ness", "ation")
_START: Final = datetime(2015, 1, 1, tzinfo=UTC)


def _demo_words() -> list[str]:
    """The demo catalog's words, most frequent first (ties alphabetically)."""
    counts: Counter[str] = Counter()
    for row in demo_rows():
        for text in (row["title"], row["description"] or ""):
            counts.update(word.lower() for word in _LETTERS.findall(text) if len(word) > 1)
    return sorted(counts, key=lambda word: (-counts[word], word))


def _generated_word(rng: random.Random) -> str:
    syllables = "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        for _ in range(rng.randint(1, 3))
    )
    return syllables + rng.choice(_ENDINGS)


@frozen
class Vocabulary:
    """Words ranked by frequency, with the cumulative Zipf weights to draw them."""

    words: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def build(cls, rng: random.Random, size: int = VOCABULARY_SIZE) -> Vocabulary:
        words = _demo_words()[:size]
        seen = set(words)
        while len(words) < size:
            word = _generated_word(rng)
            if word not in seen and len(word) > 2:
                seen.add(word)
                words.append(word)
        return cls(tuple(words), _zipf_cumulative(len(words)))

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)


def _zipf_cumulative(n: int) -> tuple[float, ...]:
    return tuple(itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, n + 1)))


def _author_pool(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct "First Last" names from the demo authors' first and last names."""
    firsts, lasts = set(), set()
    for row in demo_rows():
        parts = row["author"].split()
        if len(parts) >= 2:
            firsts.add(parts[0])
            lasts.add(parts[-1])
    first, last = sorted(firsts), sorted(lasts)
    names: dict[str, None] = {}
    while len(names) < min(size, len(first) * len(last)):
        names[f"{rng.choice(first)} {rng.choice(last)}"] = None
    return list(names)


def demo_genre_paths() -> list[str]:
    """The demo catalog's genre paths (``Fiction/Fantasy/Epic Fantasy``) and all their
    ancestors, parents first."""
    paths: set[str] = set()
    for row in demo_rows():
        parts = row["genre"].split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(paths, key=lambda path: (path.count("/"), path))


@frozen
class GeneratedBook:
    """One generated book; ``genre`` indexes the genre list given to :meth:`Corpus.books`."""

    title: str
    author: str
    description: str
    genre: int
    price_cents: int
    stock: int
    publish_date: date


class Corpus:
    """The generated catalog of one seed: its vocabulary, its authors and its books."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        rng = random.Random(seed)
        self.vocabulary = Vocabulary.build(rng)
        self.authors = _author_pool(rng, AUTHORS)
        self._author_weights = _zipf_cumulative(len(self.authors))

    def books(self, n: int, genres: int) -> Iterator[GeneratedBook]:
        """``n`` books spread over ``genres`` genres (Zipf-weighted too), always the same for
        one seed."""
        rng = random.Random(self.seed + 1)
        genre_weights = _zipf_cumulative(genres)
        draw = self.vocabulary.draw
        for _ in range(n):
            title = draw(rng, rng.randint(*TITLE_WORDS))
            description = draw(rng, rng.randint(*DESCRIPTION_WORDS))
            yield GeneratedBook(
                title=" ".join(word.capitalize() for word in title),
                author=rng.choices(self.authors, cum_weights=self._author_weights)[0],
                description=" ".join(description).capitalize() + ".",
                genre=rng.choices(range(genres), cum_weights=genre_weights)[0],
                # Prices mostly 5-30 with a long tail, as in a bookshop.
                price_cents=min(int(rng.lognormvariate(7.2, 0.6)), 99_999) + 99,
                stock=0 if rng.random() < OUT_OF_STOCK else rng.randint(1, 200),
                publish_date=date(1900, 1, 1) + timedelta(days=rng.randint(0, 45_000)),
            )

    def new_books(self, n: int, genre_ids: Sequence[int]) -> list[NewBook]:
        """:meth:`books` as the catalog's ``NewBook`` drafts; ``created_at`` one minute apart,
        so that "newest" has no ties."""
        return [
            NewBook(
                title=book.title,
                author=book.author,
                price=Decimal(book.price_cents).scaleb(-2),
                isbn=None,
                genre_id=genre_ids[book.genre],
                description=book.description,
                cover_image_url=None,
                publish_date=book.publish_date,
                stock_quantity=book.stock,
                created_at=_START + timedelta(minutes=i),
            )
            for i, book in enumerate(self.books(n, len(genre_ids)))
        ]
