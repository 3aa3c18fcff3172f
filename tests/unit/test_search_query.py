"""The search analyzer and query parser: what any typed string becomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core.errors import ValidationError
from bookshop_core.search import Analyzer, Phrase, Prefix, Term, TextQuery, fold, parse, words

ANALYZER = Analyzer(SnowballStemmer())


def test_folding_drops_accents_and_case() -> None:
    """ "García Márquez" folds to "garcia marquez"; ligatures decompose."""
    assert fold("García Márquez ﬁ") == "garcia marquez fi"


def test_everything_but_letters_and_digits_separates_words() -> None:
    """Punctuation, the underscore, NUL and emoji split words; over-long words are dropped."""
    assert words("a_b\x00c🙂d; e-mail " + "x" * 65) == ["a", "b", "c", "d", "e", "mail"]


def test_the_query_language() -> None:
    """Words, the prefix being typed, phrases (unclosed too) and exclusions."""
    assert parse('Running "lord of" -orc -"dark lord" tolk', ANALYZER) == TextQuery(
        must=(
            Term("run", "running"),
            Phrase(("lord", "of"), ("lord", "of")),
            Prefix("tolk", "tolk"),
        ),
        must_not=(Term("orc", "orc"), Phrase(("dark", "lord"), ("dark", "lord"))),
    )
    assert parse('"the end', ANALYZER) == TextQuery((Phrase(("the", "end"), ("the", "end")),))
    assert parse("tolk ", ANALYZER) == TextQuery((Term("tolk", "tolk"),))


def test_a_blank_query_is_no_text_query() -> None:
    """Only whitespace means a plain filtered listing."""
    assert parse(" \t", ANALYZER) is None


@pytest.mark.parametrize(
    "q",
    ["-dune", "🙂 ; *", "x" * 501, " ".join(f"w{n}" for n in range(17)), '"1 2 3 4 5 6 7 8 9"'],
)
def test_refused_queries_are_validation_errors_on_q(q: str) -> None:
    """Only exclusions, no word, too long, too many words, a phrase of more than 8 words."""
    with pytest.raises(ValidationError) as refused:
        parse(q, ANALYZER)
    assert refused.value.field == "q"


@given(st.text(max_size=600))
def test_any_string_parses_or_is_refused_on_q(q: str) -> None:
    """Whatever is typed, the parser returns a query model (or none) or refuses it on ``q``."""
    refused: ValidationError | None = None
    try:
        query = parse(q, ANALYZER)
    except ValidationError as exc:
        refused, query = exc, None
    if refused is not None:
        assert refused.field == "q"
    else:
        assert query is None or query.must
