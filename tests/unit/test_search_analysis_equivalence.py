"""The fast analyzer gives byte-for-byte what the first, character-by-character one gave.

The index stores the analyzer's output, so a change of output would need ``ANALYZER_VERSION``
bumped and every store reindexed; the rewrite for speed must not change a single lexeme. The
reference below is the first implementation, kept verbatim (minus its types): it folded each
character on its own, made one ``Token`` per word and stemmed word by word with PyStemmer.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

import Stemmer  # PyStemmer
from hypothesis import example, given
from hypothesis import strategies as st

from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core.search.analysis import Analyzer, Field, Token, fold, words

# -- the reference: the analyzer as first written --------------------------------------------

_REF_WORD = re.compile(r"[^\W_]+")
_REF_MAX_WORD_LENGTH = 64
_REF_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=4096)
def _ref_fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _ref_fold(text: str) -> str:
    return "".join(_ref_fold_char(c) for c in text)


def _ref_words(text: str) -> list[str]:
    return [w for w in _REF_WORD.findall(_ref_fold(text)) if len(w) <= _REF_MAX_WORD_LENGTH]


def _ref_spans(text: str | None) -> list[tuple[Token, int, int]]:
    if not text:
        return []
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = _ref_fold_char(char)
        folded.append(piece)
        origin.extend([index] * len(piece))
    joined = "".join(folded)
    origin.append(len(text))
    spans: list[tuple[Token, int, int]] = []
    for match in _REF_WORD.finditer(joined):
        word = match.group()
        if len(word) > _REF_MAX_WORD_LENGTH:
            continue
        token = Token(word, str(_REF_STEMMER.stemWord(word)), len(spans))
        spans.append((token, origin[match.start()], origin[match.end() - 1] + 1))
    return spans


def _ref_terms(text: str | None) -> list[Token]:
    return [token for token, _, _ in _ref_spans(text)]


# -- the texts: anything, with the characters that make folding and splitting hard ----------

_TRICKY = (
    # combining marks (several, out of canonical order), precomposed letters
    "\u0301\u0300\u0327\u0308\u0323\u031b\u0345\u05b0\u0651\u093c\u094d\u20d7\u302a"
    "éÉñÑçÇåÅøØłŁđĐıİǰẖŉΐΰ"
    # ligatures and compatibility forms that NFKD expands (some into several words)
    "ﬁﬂﬀﬃﬄﬅﬆÆæŒœĲĳǄǅǆ㎏㍱℡™Ⅻⅻ①⑳⒜ﷺﷻ﷽ｱｶﾞＡｚ０９"
    # case folding that changes length or depends on nothing around it
    "ßẞΣσςΆΐſﬀꭰᏸ"
    # digits of other scripts, superscripts, fractions
    "0123456789٠٣٩۵०७௫๙²³¹⁴₅½¾⅓"
    # separators: underscore, NUL and other controls, punctuation, spaces, joiners
    "_\x00\x01\x1f\x7f\x85\u00a0\u2028\u200b\u200c\u200d\ufeff \t\n-'\"*:&|!()"
    # other scripts: Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, Hangul, CJK, emoji
    "ΑλφαЖжЁёאבגعربيहिंदीไทย한국어가힣漢字かなカナ🙂👍🏽👨‍👩‍👧\ufe0f"
)

_characters = st.one_of(
    st.sampled_from(_TRICKY),
    st.characters(codec=None),  # any code point, surrogates and unassigned ones included
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # plain ASCII
)
#: Runs of letters around the word length limit, alone or with a ligature that lengthens them.
_long_words = st.builds(
    lambda n, tail: "x" * n + tail,
    st.integers(min_value=60, max_value=66),
    st.sampled_from(("", "ﬃ", "é", "\u0301", "ß", "_", "ﷺ")),
)
_texts = st.lists(st.one_of(_characters, _long_words), max_size=40).map("".join)
_ascii_texts = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=80)

ANALYZER = Analyzer(SnowballStemmer())


def _triples(tokens: list[Token]) -> list[tuple[str, str, int]]:
    return [(t.word, t.lexeme, t.position) for t in tokens]


@given(st.one_of(_texts, _ascii_texts))
@example("García Márquez ﬁ ΟΔΟΣ Straße İstanbul x\u0301\u0323y")
@example("a_b\x00c🙂d; e-mail " + "x" * 65)
@example("x" * 63 + "ﬃ " + "y" * 64 + " z")
@example("ﷺ ½ ① ㎏ Ⅻ")
def test_fold_and_words_are_unchanged(text: str) -> None:
    """fold and words return exactly what the character-by-character versions returned."""
    assert fold(text) == _ref_fold(text)
    assert words(text) == _ref_words(text)


@given(st.one_of(_texts, _ascii_texts))
@example("Running runners ran; the RUNS of Cañón cafés, naïve coöperation")
@example("x" * 63 + "ﬃ " + "y" * 64 + " z")
def test_terms_and_spans_are_unchanged(text: str) -> None:
    """Every token (folded word, stem, position) and every span into the text is the same."""
    expected = _ref_spans(text)
    assert _triples(ANALYZER.terms(text)) == _triples([token for token, _, _ in expected])
    spans = [(s.token, s.start, s.end) for s in ANALYZER.spans(text)]
    assert [(_triples([t])[0], start, end) for t, start, end in spans] == [
        (_triples([t])[0], start, end) for t, start, end in expected
    ]


@given(st.one_of(_texts, _ascii_texts), st.one_of(_texts, _ascii_texts), st.none() | _texts)
def test_documents_are_unchanged(title: str, author: str, description: str | None) -> None:
    """A book's document holds the same words and lexemes, at the same positions, per field."""
    document = ANALYZER.document_of(7, title=title, author=author, description=description)
    assert document.book_id == 7
    assert [f.name for f in document.fields] == ["title", "author", "description"]
    for field, text in zip(document.fields, (title, author, description), strict=True):
        assert _triples(list(field.tokens)) == _triples(_ref_terms(text))
        assert field == Field(field.name, tuple(_ref_terms(text)))


@given(st.lists(st.one_of(_texts, _ascii_texts), max_size=5))
def test_a_shared_stemmer_memo_changes_no_stem(texts: list[str]) -> None:
    """Stems from a tiny memo that fills and empties between calls are the plain stems."""
    analyzer = Analyzer(SnowballStemmer(cache_size=3))
    for text in texts:
        assert _triples(analyzer.terms(text)) == _triples(_ref_terms(text))


def test_every_code_point_folds_and_splits_as_before() -> None:
    """All of Unicode in one string (each character after each other) folds and splits the same."""
    text = "".join(map(chr, range(sys.maxunicode + 1)))
    assert fold(text) == _ref_fold(text)
    assert words(text) == _ref_words(text)
