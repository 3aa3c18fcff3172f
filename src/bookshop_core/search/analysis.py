"""Text analysis: the one tokeniser, folder and stemmer every backend indexes and queries with.

The analyzer runs in Python at index time and at query time for every backend, so memory,
SQLite and PostgreSQL store and look up exactly the same lexemes (their built-in stemmers
differ from each other; ours does not differ from itself).

A *word* is a run of letters and digits of the folded text (``[^\\W_]+``: the underscore and
every other non-word character, NUL and control characters included, separate words; the
underscore does because SQLite's ``unicode61`` tokeniser splits on it too). A *lexeme* is the
stem of a word. Words longer than :data:`MAX_WORD_LENGTH` are dropped (they are noise, and
they would blow index entries up).

Indexing analyses every book, so the analysis works on whole strings (one normalisation, one
regular expression, one case fold per field; the stems of a book's words in one call to the
stemmer) and a :class:`Field` holds its words and lexemes as two tuples of strings rather
than one object per word.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from typing import Final, Literal, Protocol, runtime_checkable

from attrs import Factory, field, frozen

from bookshop_core.catalog.entities import Book

__all__ = [
    "ANALYZER_VERSION",
    "FIELD_NAMES",
    "MAX_WORD_LENGTH",
    "Analyzer",
    "BatchStemmer",
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
    index stores its output. A stemmer that can stem many words in one call implements
    :class:`BatchStemmer` too, which the analyzer then uses.
    """

    def stem(self, word: str) -> str:
        """The stem of ``word`` (already folded: lower case, no accents)."""
        ...


@runtime_checkable
class BatchStemmer(Stemmer, Protocol):
    """A :class:`Stemmer` that also stems a batch of words in one call (faster when each call
    crosses into a C library)."""

    def stem_words(self, words: Sequence[str]) -> list[str]:
        """``[self.stem(w) for w in words]``, computed in bulk."""
        ...


@cache
def _combining_marks() -> re.Pattern[str]:
    """Any character with a nonzero canonical combining class (what folding drops), built on
    first use from this Python's Unicode database (about 0.1 s, once)."""
    marks = [
        code
        for code, combining in enumerate(
            map(unicodedata.combining, map(chr, range(sys.maxunicode + 1)))
        )
        if combining
    ]
    ranges: list[str] = []
    start = previous = marks[0]
    for code in [*marks[1:], -1]:
        if code != previous + 1:
            ranges.append(
                re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else "")
            )
            start = code
        previous = code
    return re.compile("[" + "".join(ranges) + "]+")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return fold(char)


def fold(text: str) -> str:
    """Accent- and case-insensitive form of ``text``: NFKD, combining marks dropped,
    casefolded (``"García Márquez"`` -> ``"garcia marquez"``).

    Folding the whole text gives what folding each character on its own and joining the
    results gives (:meth:`Analyzer.spans` relies on it to map words back to the text): NFKD
    decomposes character by character and then only reorders combining marks among
    themselves, which are all dropped, and case folding looks at no context.
    """
    if not text.isascii():  # ASCII text has nothing to decompose and no combining mark
        text = unicodedata.normalize("NFKD", text)
        if not text.isascii():
            text = _combining_marks().sub("", text)
    return text.casefold()


def _split(folded: str) -> list[str]:
    """The words of folded text, the over-long ones dropped."""
    found = _WORD.findall(folded)
    if len(folded) > MAX_WORD_LENGTH and max(map(len, found), default=0) > MAX_WORD_LENGTH:
        return [w for w in found if len(w) <= MAX_WORD_LENGTH]
    return found


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order, the over-long ones dropped."""
    return _split(fold(text))


@frozen
class Token:
    """One word of a field: ``word`` is its folded surface form, ``lexeme`` its stem and
    ``position`` its index among the field's kept words (0-based)."""

    word: str
    lexeme: str
    position: int


@frozen(init=False)
class Field:
    """The analysed text of one field of a book: its words and their lexemes, in order (the
    word at index ``i`` is at position ``i``).

    Build one from tokens (``Field("title", tokens)``, positions 0, 1, ... in order) or, without
    making a token per word, with :meth:`of_words`.
    """

    name: FieldName
    #: The folded surface words, in position order.
    words: tuple[str, ...]
    #: The lexeme of each word (``lexemes[i]`` is the stem of ``words[i]``).
    lexemes: tuple[str, ...]

    def __init__(self, name: FieldName, tokens: Iterable[Token] = ()) -> None:
        """The field of these tokens.

        Raises:
            ValueError: The tokens' positions are not 0, 1, 2, ... in order.
        """
        tokens = tuple(tokens)
        if any(token.position != index for index, token in enumerate(tokens)):
            raise ValueError("A field's token positions are 0, 1, 2, ... in order")
        self.__attrs_init__(name, tuple(t.word for t in tokens), tuple(t.lexeme for t in tokens))

    @classmethod
    def of_words(cls, name: FieldName, words: Sequence[str], lexemes: Sequence[str]) -> Field:
        """The field of these words and their lexemes (as many of each).

        Raises:
            ValueError: ``words`` and ``lexemes`` differ in length.
        """
        if len(words) != len(lexemes):
            raise ValueError("A field has one lexeme per word")
        made = cls.__new__(cls)
        made.__attrs_init__(name, tuple(words), tuple(lexemes))
        return made

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The field's words as tokens (made on each access: prefer :attr:`words` and
        :attr:`lexemes` in a loop over many fields)."""
        return tuple(map(Token, self.words, self.lexemes, range(len(self.words))))


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
        return Field(name)


@frozen
class TokenSpan:
    """A token and where its word stands in the original text (``text[start:end]``)."""

    token: Token
    start: int
    end: int


def _bulk(analyzer: Analyzer) -> Callable[[Sequence[str]], list[str]]:
    stemmer = analyzer.stemmer
    if isinstance(stemmer, BatchStemmer):
        return stemmer.stem_words
    stem = stemmer.stem
    return lambda words: [stem(w) for w in words]


@frozen
class Analyzer:
    """Tokenises, folds and stems text, the same way for indexing and for queries.

    Args:
        stemmer: The stemming port (``SnowballStemmer()`` in a shop).
    """

    stemmer: Stemmer
    #: The stemmer's batch method, or a loop over its ``stem``: chosen once.
    _stem_words: Callable[[Sequence[str]], list[str]] = field(
        init=False, default=Factory(_bulk, takes_self=True), eq=False, repr=False
    )

    def lexeme(self, word: str) -> str:
        """The lexeme of an already folded word."""
        return self.stemmer.stem(word)

    def lexemes(self, words: Sequence[str]) -> list[str]:
        """The lexemes of already folded words (in one call to a batch stemmer)."""
        return self._stem_words(words) if words else []

    def terms(self, text: str | None) -> list[Token]:
        """The tokens of ``text`` (none for ``None``), positions from 0."""
        return list(self.field("title", text).tokens)

    def field(self, name: FieldName, text: str | None) -> Field:
        """The analysed ``text`` as the field ``name`` (no words for ``None``)."""
        found = words(text) if text else []
        return Field.of_words(name, found, self.lexemes(found))

    def spans(self, text: str | None) -> list[TokenSpan]:
        """The tokens of ``text`` with their places in ``text`` (for highlighting)."""
        if not text:
            return []
        if text.isascii():  # folding keeps every character in its place
            joined, origin = text.casefold(), None
        else:
            folded: list[str] = []
            origin = []  # origin[i]: index in ``text`` of the char folded[i] came from
            for index, char in enumerate(text):
                piece = _fold_char(char)
                folded.append(piece)
                origin.extend([index] * len(piece))
            joined = "".join(folded)
            origin.append(len(text))
        matches = [m for m in _WORD.finditer(joined) if len(m.group()) <= MAX_WORD_LENGTH]
        lexemes = self.lexemes([m.group() for m in matches])
        spans: list[TokenSpan] = []
        for position, (match, lexeme) in enumerate(zip(matches, lexemes, strict=True)):
            token = Token(match.group(), lexeme, position)
            if origin is None:
                start, end = match.start(), match.end()
            else:
                start, end = origin[match.start()], origin[match.end() - 1] + 1
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
        in_title = words(title) if title else []
        in_author = words(author) if author else []
        in_description = words(description) if description else []
        # One call to the stemmer for the whole book, then cut back into fields.
        lexemes = self.lexemes(in_title + in_author + in_description)
        after_title = len(in_title)
        after_author = after_title + len(in_author)
        return SearchDocument(
            book_id,
            (
                Field.of_words("title", in_title, lexemes[:after_title]),
                Field.of_words("author", in_author, lexemes[after_title:after_author]),
                Field.of_words("description", in_description, lexemes[after_author:]),
            ),
        )
