"""The search context: one query language, one analyzer, the same answers on every backend.

The analyzer (:mod:`~bookshop_core.search.analysis`) turns text into lexemes in Python for
indexing and for queries alike; the parser (:mod:`~bookshop_core.search.query`) turns what a
user typed into a small model that each backend renders (never the typed string); the ranking
is an integer formula every backend computes exactly, ties broken by book id.
"""

from bookshop_core.search.analysis import (
    ANALYZER_VERSION,
    FIELD_NAMES,
    MAX_WORD_LENGTH,
    Analyzer,
    Field,
    FieldName,
    SearchDocument,
    Stemmer,
    Token,
    TokenSpan,
    fold,
    words,
)
from bookshop_core.search.commands import SORT_ALIASES, SearchBooks
from bookshop_core.search.entities import (
    FIELD_WEIGHTS,
    PRICE_BUCKETS,
    Facets,
    GenreCount,
    Highlight,
    Hit,
    PriceBucket,
    ScoredId,
    SearchFilters,
    SearchOrder,
    SearchResult,
    SearchSort,
    VocabularyWord,
)
from bookshop_core.search.ports import SearchIndex, SearchUnitOfWork
from bookshop_core.search.query import (
    MAX_CLAUSES,
    MAX_PHRASE_WORDS,
    MAX_QUERY_LENGTH,
    MIN_PREFIX_LENGTH,
    Clause,
    Phrase,
    Prefix,
    Term,
    TextQuery,
    parse,
)
from bookshop_core.search.use_cases import (
    MAX_SUGGESTION_DISTANCE,
    Search,
    SearchIndexing,
    highlight,
    levenshtein,
    suggest_word,
)

__all__ = [
    "ANALYZER_VERSION",
    "FIELD_NAMES",
    "FIELD_WEIGHTS",
    "MAX_CLAUSES",
    "MAX_PHRASE_WORDS",
    "MAX_QUERY_LENGTH",
    "MAX_SUGGESTION_DISTANCE",
    "MAX_WORD_LENGTH",
    "MIN_PREFIX_LENGTH",
    "PRICE_BUCKETS",
    "SORT_ALIASES",
    "Analyzer",
    "Clause",
    "Facets",
    "Field",
    "FieldName",
    "GenreCount",
    "Highlight",
    "Hit",
    "Phrase",
    "Prefix",
    "PriceBucket",
    "ScoredId",
    "Search",
    "SearchBooks",
    "SearchDocument",
    "SearchFilters",
    "SearchIndex",
    "SearchIndexing",
    "SearchOrder",
    "SearchResult",
    "SearchSort",
    "SearchUnitOfWork",
    "Stemmer",
    "Term",
    "TextQuery",
    "Token",
    "TokenSpan",
    "VocabularyWord",
    "fold",
    "highlight",
    "levenshtein",
    "parse",
    "suggest_word",
    "words",
]
