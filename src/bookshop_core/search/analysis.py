"""Text analysis: the one tokeniser, folder and stemmer every backend indexes and queries with.

The analyzer runs in Python at index time and at query time for every backend, so memory,
SQLite and PostgreSQL store and look up exactly the same lexemes (their built-in stemmers
differ from each other; ours does not differ from itself).

A *word* is a run of letters and digits of the folded text (``[^\\W_]+``: the underscore and
every other non-word character, NUL and control characters included, separate words; the
underscore does because SQLite's ``unicode61`` tokeniser splits on it too). A *lexeme* is the
stem of a word. Words longer than :data:`MAX_WORD_LENGTH` are dropped (they are noise, and
they would blow index entries up).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Final, Literal, Protocol

from attrs import frozen

from bookshop_core.catalog.entities import Book

__all__ = [
    "ANALYZER_VERSION",
    "FIELD_NAMES",
    "MAX_WORD_LENGTH",
    "Analyzer",
    "Field",
    "FieldName",
    "SearchDocument",
    "Stemmer",
    "Token",
    "TokenSpan",
    "fold",
    "words",
]

#: Changes whenever the analysis changes what is indexed; a store indexed with another
#: version must be rebuilt (``Search.reindex``, ``bookshop search-reindex``).
ANALYZER_VERSION: Final = "1"
#: Longer words are dropped at index and at query time alike.
MAX_WORD_LENGTH: Final = 64

FieldName = Literal["title", "author", "description"]
#: The indexed fields, in weight order (title 4, author 2, description 1).
FIELD_NAMES: Final[tuple[FieldName, ...]] = ("title", "author", "description")

_WORD = re.compile(r"[^\W_]+")


class Stemmer(Protocol):
    """A port: reduces a folded word to its stem (``"running"`` -> ``"run"``).

    The core imports no stemming library; ``bookshop_adapters.stemming.SnowballStemmer``
    (English Snowball, PyStemmer) is the shipped adapter. A stemmer must be deterministic: the
    index stores its output.
    """

    def stem(self, word: str) -> str:
        """The stem of ``word`` (already folded: lower case, no accents)."""
        ...


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """Accent- and case-insensitive form of ``text``: NFKD, combining marks dropped,
    casefolded (``"García Márquez"`` -> ``"garcia marquez"``).

    Folding is done character by character (the same result as folding the whole text, since
    the marks are dropped), which lets :meth:`Analyzer.spans` map words back to the text.
    """
    return "".join(_fold_char(c) for c in text)


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order, the over-long ones dropped."""
    return [w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD_LENGTH]


@frozen
class Token:
    """One word of a field: ``word`` is its folded surface form, ``lexeme`` its stem and
    ``position`` its index among the field's kept words (0-based)."""

    word: str
    lexeme: str
    position: int


@frozen
class Field:
    """The tokens of one field of a book."""

    name: FieldName
    tokens: tuple[Token, ...]


@frozen
class SearchDocument:
    """What the index stores for one book: its analysed title, author and description (a
    field without text has no tokens; every field is present, in :data:`FIELD_NAMES` order)."""

    book_id: int
    fields: tuple[Field, ...]

    def field(self, name: FieldName) -> Field:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        return Field(name, ())


@frozen
class TokenSpan:
    """A token and where its word stands in the original text (``text[start:end]``)."""

    token: Token
    start: int
    end: int


@frozen
class Analyzer:
    """Tokenises, folds and stems text, the same way for indexing and for queries.

    Args:
        stemmer: The stemming port (``SnowballStemmer()`` in a shop).
    """

    stemmer: Stemmer

    def lexeme(self, word: str) -> str:
        """The lexeme of an already folded word."""
        return self.stemmer.stem(word)

    def terms(self, text: str | None) -> list[Token]:
        """The tokens of ``text`` (none for ``None``), positions from 0."""
        return [span.token for span in self.spans(text)]

    def spans(self, text: str | None) -> list[TokenSpan]:
        """The tokens of ``text`` with their places in ``text`` (for highlighting)."""
        if not text:
            return []
        folded: list[str] = []
        origin: list[int] = []  # origin[i]: index in ``text`` of the char folded[i] came from
        for index, char in enumerate(text):
            piece = _fold_char(char)
            folded.append(piece)
            origin.extend([index] * len(piece))
        joined = "".join(folded)
        origin.append(len(text))
        spans: list[TokenSpan] = []
        for match in _iter_words(joined):
            word = match.group()
            token = Token(word, self.lexeme(word), len(spans))
            start = origin[match.start()]
            end = origin[match.end() - 1] + 1
            spans.append(TokenSpan(token, start, end))
        return spans

    def document(self, book: Book) -> SearchDocument:
        """The analysed fields of ``book``, ready for :meth:`SearchIndex.put`."""
        return self.document_of(
            book.id, title=book.title, author=book.author, description=book.description
        )

    def document_of(
        self, book_id: int, *, title: str, author: str, description: str | None
    ) -> SearchDocument:
        """The analysed fields of a book given by its id and texts (for code that reads the
        stored texts without loading books, such as a schema migration)."""
        texts: dict[FieldName, str | None] = {
            "title": title,
            "author": author,
            "description": description,
        }
        return SearchDocument(
            book_id, tuple(Field(name, tuple(self.terms(texts[name]))) for name in FIELD_NAMES)
        )


def _iter_words(folded: str) -> Iterator[re.Match[str]]:
    for match in _WORD.finditer(folded):
        if len(match.group()) <= MAX_WORD_LENGTH:
            yield match
