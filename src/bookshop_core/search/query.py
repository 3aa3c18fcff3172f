"""The query language, parsed once into a small model every backend renders.

Syntax (everything a user can type is accepted or refused with ``VALIDATION_ERROR`` on ``q``;
no character has a meaning to a backend, because no backend ever sees the typed string):

* words: every word must occur (in the title, the author or the description); words are
  folded and stemmed like the indexed text, so ``Running`` finds "run" and ``Garcia`` finds
  "García";
* ``"quoted words"``: the words adjacent and in this order, within one field; an unclosed
  quote runs to the end of the query; a quoted single word is a plain word;
* ``-word`` and ``-"quoted words"``: books containing them are left out (a ``-`` glued to
  several words, ``-e-mail``, excludes them as a phrase);
* the last word, when the query does not end in whitespace and the word is bare (not quoted,
  not excluded) and at least :data:`MIN_PREFIX_LENGTH` characters long, is also a prefix: any
  indexed word starting with it matches (``tolk`` finds "Tolkien"), as does its stem;
* every other character separates words: ``AND OR NOT NEAR`` are ordinary words, and
  ``* : & | ! ( ) ' ;``, SQL fragments, emoji and control characters are separators.

Limits: at most :data:`MAX_QUERY_LENGTH` characters, :data:`MAX_CLAUSES` clauses and
:data:`MAX_PHRASE_WORDS` words in a phrase. A query of only exclusions, or with no word at all,
is refused; a blank query means "no text query".
"""

from __future__ import annotations

import re
from typing import Final

from attrs import frozen

from bookshop_core.errors import ValidationError
from bookshop_core.search.analysis import Analyzer, words

__all__ = [
    "MAX_CLAUSES",
    "MAX_PHRASE_WORDS",
    "MAX_QUERY_LENGTH",
    "MIN_PREFIX_LENGTH",
    "Clause",
    "Phrase",
    "Prefix",
    "Term",
    "TextQuery",
    "parse",
]

MAX_QUERY_LENGTH: Final = 500
MAX_CLAUSES: Final = 16
MAX_PHRASE_WORDS: Final = 8
#: A one-letter prefix would match a large part of any vocabulary; it is a plain word.
MIN_PREFIX_LENGTH: Final = 2


@frozen
class Term:
    """A word that must (or must not) occur: matches the indexed ``lexeme`` (its stem).

    ``word`` is the folded word as typed (for suggestions and highlights)."""

    lexeme: str
    word: str = ""


@frozen
class Prefix:
    """The word being typed: matches any indexed folded surface word starting with ``word``,
    or the exact ``lexeme`` (the stem of ``word``)."""

    word: str
    lexeme: str


@frozen
class Phrase:
    """Two to :data:`MAX_PHRASE_WORDS` lexemes, adjacent and in order, within one field.

    ``words`` are the folded words as typed."""

    lexemes: tuple[str, ...]
    words: tuple[str, ...] = ()


Clause = Term | Prefix | Phrase


@frozen
class TextQuery:
    """Books match when every ``must`` clause occurs in one of their fields and no ``must_not``
    clause occurs in any. ``must`` is never empty."""

    must: tuple[Clause, ...]
    must_not: tuple[Clause, ...] = ()

    def text(self) -> str:
        """The query written back in the query language (folded words)."""
        parts = [_written(c) for c in self.must] + ["-" + _written(c) for c in self.must_not]
        return " ".join(parts)


def _written(clause: Clause) -> str:
    if isinstance(clause, Term):
        return clause.word or clause.lexeme
    if isinstance(clause, Prefix):
        return clause.word
    return '"' + " ".join(clause.words or clause.lexemes) + '"'


# One piece of the query: an optional "-", then a quoted run (to the closing quote or the
# end) or a run of anything but whitespace and quotes.
_PIECE = re.compile(r'(-*)(?:"([^"]*)"?|([^\s"]+))')


def _refuse(msg: str) -> ValidationError:
    return ValidationError.single("q", msg)


def parse(q: str, analyzer: Analyzer) -> TextQuery | None:
    """Parse what a user typed into the query model.

    Args:
        q: The raw query (any string).
        analyzer: The analyzer the index was built with.

    Returns:
        The query, or ``None`` for a blank ``q`` (no text query: a plain filtered listing).

    Raises:
        ValidationError: (on ``q``) too long, too many clauses, a phrase too long, or no word
            to search for (nothing but separators, or only exclusions).
    """
    if len(q) > MAX_QUERY_LENGTH:
        raise _refuse(f"must have at most {MAX_QUERY_LENGTH} characters")
    if not q.strip():
        return None
    must: list[Clause] = []
    must_not: list[Clause] = []
    pieces = list(_PIECE.finditer(q))
    for index, piece in enumerate(pieces):
        negated = bool(piece.group(1))
        quoted = piece.group(2) is not None
        found = words(piece.group(2) if quoted else piece.group(3) or "")
        if not found:
            continue
        if len(found) > MAX_PHRASE_WORDS and (quoted or negated):
            raise _refuse(f"A phrase may have at most {MAX_PHRASE_WORDS} words")
        lexemes = tuple(analyzer.lexeme(w) for w in found)
        if negated:
            must_not.append(_term_or_phrase(found, lexemes))
        elif quoted:
            must.append(_term_or_phrase(found, lexemes))
        else:
            must.extend(Term(lex, w) for w, lex in zip(found, lexemes, strict=True))
            last = index == len(pieces) - 1 and piece.end() == len(q)
            if last and len(found[-1]) >= MIN_PREFIX_LENGTH:
                must[-1] = Prefix(found[-1], lexemes[-1])
    must, must_not = _unique(must), _unique(must_not)
    if len(must) + len(must_not) > MAX_CLAUSES:
        raise _refuse(f"A query may have at most {MAX_CLAUSES} words and phrases")
    if not must:
        raise _refuse("needs at least one word to search for")
    return TextQuery(tuple(must), tuple(must_not))


def _term_or_phrase(found: list[str], lexemes: tuple[str, ...]) -> Clause:
    if len(found) == 1:
        return Term(lexemes[0], found[0])
    return Phrase(lexemes, tuple(found))


def _unique(clauses: list[Clause]) -> list[Clause]:
    """The clauses without repeats (a repeated word changes nothing), first one kept."""
    seen: set[Clause] = set()
    kept: list[Clause] = []
    for clause in clauses:
        if clause not in seen:
            seen.add(clause)
            kept.append(clause)
    return kept
