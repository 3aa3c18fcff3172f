"""The write side of the search postings (``search_postings``, see ``tables.py``).

A book's postings are one row per distinct text among its lexemes and its folded surface words:
``fields`` holds the bits (:data:`~bookshop_core.search.entities.FIELD_WEIGHTS`) of the fields
where the text occurs as a lexeme, ``word_fields`` those where it occurs as a surface word, and
``prefix_fields`` (:func:`prefix_fields`) what a prefix search needs of the surface words.
The filter attributes (``genre_id``, ``price_cents``, ``in_stock``) are read from ``books`` by
the statement that inserts the rows, so a caller passes only what the analyzer produced;
afterwards triggers on ``books`` keep them in step (migration 0009).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Executable, bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bookshop_adapters.sqlalchemy.errors import translating_errors
from bookshop_adapters.sqlalchemy.tables import search_postings
from bookshop_core.search.analysis import Analyzer, SearchDocument
from bookshop_core.search.entities import FIELD_WEIGHTS

__all__ = [
    "CLEAR_POSTINGS",
    "PREFIX_LENGTHS",
    "PREFIX_MASK",
    "REMOVE_POSTINGS",
    "insert_postings",
    "postings_rows",
    "prefix_fields",
    "prefix_shift",
    "put_postings",
    "share_books",
    "stored_documents",
]

#: A posting as written: (term, fields bits, word_fields bits, prefix_fields).
Posting = tuple[str, int, int, int]

#: The prefix lengths, in code points, that ``prefix_fields`` describes: 3 bits each (the
#: fields' bits) in a signed 64-bit integer. A longer prefix is grouped per book at query time.
PREFIX_LENGTHS: Final = 21
_BITS_PER_LENGTH: Final = 3
#: The fields' bits at one prefix length, once shifted down by :func:`prefix_shift`.
PREFIX_MASK: Final = (1 << _BITS_PER_LENGTH) - 1
assert max(FIELD_WEIGHTS.values()) <= PREFIX_MASK


def prefix_shift(length: int) -> int:
    """Where ``prefix_fields`` holds the fields for a prefix of ``length`` characters (1 to
    :data:`PREFIX_LENGTHS`)."""
    return _BITS_PER_LENGTH * (length - 1)


#: ``_SPREAD[low][high]``: a 1 in the lowest bit of the slot of every prefix length in
#: ``low + 1 .. high``; times a field mask (< 8), the mask in each of those slots.
_SPREAD: Final = [
    [
        sum(1 << prefix_shift(length) for length in range(low + 1, high + 1))
        for high in range(PREFIX_LENGTHS + 1)
    ]
    for low in range(PREFIX_LENGTHS + 1)
]


def _shared_lengths(words: Sequence[tuple[str, int]]) -> list[int]:
    """For each word, the length of the prefix it shares with the next one (0 for the last)."""
    shared = [0] * len(words)
    for index in range(1, len(words)):
        before, word = words[index - 1][0], words[index][0]
        if before[0] == word[0]:  # most neighbours differ at once
            end = min(len(before), len(word))
            length = 1
            while length < end and before[length] == word[length]:
                length += 1
            shared[index - 1] = length
    return shared


def prefix_fields(words: Sequence[tuple[str, int]]) -> list[int]:
    """The ``prefix_fields`` of each of a book's surface words (distinct, non-empty, in term
    order, with their fields' bits): for every prefix length ``n`` up to
    :data:`PREFIX_LENGTHS` at which the word is the first of the book's words to start with
    its first ``n`` characters, the OR of the fields of all the book's words starting with
    them, in bits ``3(n-1)`` to ``3n-1``; zero bits at the other lengths.

    A prefix search then reads, from the range of words starting with the prefix, one row per
    book, already carrying the book's score for the prefix: no grouping of the book's words.
    In term order, the words starting with a word's prefix follow it, and the length they
    share with it only shrinks: the minimum of the neighbours' shared lengths.
    """
    shared = _shared_lengths(words)
    masks: list[int] = []
    owned_by_before = 0  # the prefix lengths whose slots belong to an earlier word
    for index, (word, bits) in enumerate(words):
        mask = 0
        if owned_by_before < PREFIX_LENGTHS:
            spread = _SPREAD[owned_by_before]
            mask = bits * spread[min(len(word), PREFIX_LENGTHS)]
            later, common = index, shared[index]
            while common > owned_by_before:
                later += 1
                mask |= words[later][1] * spread[min(common, PREFIX_LENGTHS)]
                common = min(common, shared[later])
        masks.append(mask)
        owned_by_before = shared[index]
    return masks


def postings_rows(document: SearchDocument) -> list[Posting]:
    """The postings of ``document``, one per distinct term, in term order.

    Tokens are cleaned as the tsvector and FTS5 sides clean them (NUL removed, as no
    PostgreSQL text can hold it); a token that is empty once cleaned is skipped.
    """
    lexeme_bits: dict[str, int] = {}
    word_bits: dict[str, int] = {}
    for field in document.fields:
        bit = FIELD_WEIGHTS[field.name]
        for tokens, bits in ((field.lexemes, lexeme_bits), (field.words, word_bits)):
            for token in set(tokens):
                if "\x00" in token:
                    token = token.replace("\x00", "")
                if not token:
                    continue
                bits[token] = bits.get(token, 0) | bit
    words = sorted(word_bits.items())
    prefixes = {word: mask for (word, _), mask in zip(words, prefix_fields(words), strict=True)}
    return [
        (term, lexeme_bits.get(term, 0), word_bits.get(term, 0), prefixes.get(term, 0))
        for term in sorted(lexeme_bits.keys() | word_bits.keys())
    ]


# -- statements ----------------------------------------------------------------------------

#: Delete the postings of some books (``book_ids``: a list, expanded into ``IN (...)``).
REMOVE_POSTINGS: Final = delete(search_postings).where(
    search_postings.c.book_id.in_(bindparam("book_ids", expanding=True))
)
#: Delete every posting.
CLEAR_POSTINGS: Final = delete(search_postings)

#: PostgreSQL: every posting of a batch in one statement, as five parallel arrays joined to
#: ``books`` for the filter attributes (read in the same statement, so they are those of the
#: book rows this transaction sees: its own writes, or the latest committed ones).
_PG_INSERT: Final = text(
    "INSERT INTO search_postings "
    "(term, book_id, fields, word_fields, prefix_fields, genre_id, price_cents, in_stock) "
    "SELECT p.term, p.book_id, p.fields, p.word_fields, p.prefix_fields, "
    "b.genre_id, b.price_cents, b.stock_quantity > 0 "
    "FROM unnest(CAST(:terms AS TEXT[]), CAST(:book_ids AS BIGINT[]), "
    "CAST(:fields AS SMALLINT[]), CAST(:word_fields AS SMALLINT[]), "
    "CAST(:prefix_fields AS BIGINT[])) "
    "AS p (term, book_id, fields, word_fields, prefix_fields) "
    "JOIN books AS b ON b.id = p.book_id"
)
#: SQLite: one row per execution of an ``executemany`` (one call, run by the driver in C),
#: reading its book's attributes by primary key. It is driver SQL (numbered ``?`` parameters,
#: run with ``exec_driver_sql``) because SQLAlchemy's own processing of 33,000 parameter sets
#: cost more than SQLite's inserts. Measured at 500 benchmark books (33,000 rows), SQL only:
#: about 145 ms, against 255 ms for one ``INSERT ... SELECT FROM json_each(:rows)`` and 215 ms
#: for an ``executemany`` of bare rows followed by one ``UPDATE ... FROM books``; with the
#: parameters, 120 ms as driver SQL against 220 ms through a ``text()`` statement.
_SQLITE_INSERT: Final = (
    "INSERT INTO search_postings "
    "(term, book_id, fields, word_fields, prefix_fields, genre_id, price_cents, in_stock) "
    "SELECT ?1, ?2, ?3, ?4, ?5, genre_id, price_cents, stock_quantity > 0 "
    "FROM books WHERE id = ?2"
)


def _flat_postings(documents: Sequence[SearchDocument]) -> list[tuple[str, int, int, int, int]]:
    """(term, book_id, fields, word_fields, prefix_fields) of every posting of ``documents``,
    in primary key order (B-tree inserts in key order touch each page once)."""
    flat = [
        (term, document.book_id, fields, word_fields, prefixes)
        for document in documents
        for term, fields, word_fields, prefixes in postings_rows(document)
    ]
    flat.sort()
    return flat


def _insert(
    dialect: str, documents: Sequence[SearchDocument]
) -> tuple[Executable | str, Any] | None:
    """The insert of the postings of ``documents`` and its parameters (a string: driver SQL),
    or ``None`` when they have no terms at all."""
    flat = _flat_postings(documents)
    if not flat:
        return None
    if dialect != "postgresql":
        return _SQLITE_INSERT, flat
    # Five arrays: a comprehension per column is several times faster than zip(*flat).
    parameters = {
        name: [row[index] for row in flat]
        for index, name in enumerate(
            ("terms", "book_ids", "fields", "word_fields", "prefix_fields")
        )
    }
    return _PG_INSERT, parameters


#: PostgreSQL: the books of a batch locked against writes (in id order, as every writer of
#: several books locks them) before their postings are replaced, so that the facts the insert
#: copies are the books' latest, and stay so until this transaction ends. Without it, a
#: reindex racing a checkout could copy a stock the checkout was changing, and the trigger
#: the checkout fires would miss the rows being replaced (a catalog write already holds its
#: books; SQLite runs one writer at a time).
_SHARE_BOOKS: Final = text(
    "SELECT id FROM books WHERE id IN :book_ids ORDER BY id FOR SHARE"
).bindparams(bindparam("book_ids", expanding=True))


async def share_books(connection: AsyncConnection, book_ids: Sequence[int]) -> set[int]:
    """Lock these books against writes until the transaction ends (PostgreSQL ``FOR SHARE``,
    in id order; SQLite runs one writer at a time and locks nothing), and return those that
    exist: the ones an index write may go on with."""
    if connection.dialect.name != "postgresql":
        return set(book_ids)
    with translating_errors():
        result = await connection.execute(_SHARE_BOOKS, {"book_ids": sorted(set(book_ids))})
        return set(result.scalars())


async def put_postings(connection: AsyncConnection, documents: Sequence[SearchDocument]) -> None:
    """Replace the postings of ``documents`` (distinct books, at most a batch: PostgreSQL sends
    them in one statement): delete the books' rows, insert the new ones, with the attributes of
    the books' rows (a document of a book not in ``books`` gets none). The caller has locked
    the books first (:func:`share_books`), before writing any other index row of theirs.

    Raises:
        DomainError: As every repository statement, translated from the driver's error.
    """
    with translating_errors():
        book_ids = [document.book_id for document in documents]
        await connection.execute(REMOVE_POSTINGS, {"book_ids": book_ids})
        insert = _insert(connection.dialect.name, documents)
        if insert is None:
            return
        statement, parameters = insert
        if isinstance(statement, str):
            await connection.exec_driver_sql(statement, parameters)
        else:
            await connection.execute(statement, parameters)


# -- migrations ----------------------------------------------------------------------------

#: Books read and analysed per batch by :func:`stored_documents`.
_READ_BATCH: Final = 500
_READ_BOOKS: Final = text(
    "SELECT id, title, author, description FROM books WHERE id > :after ORDER BY id LIMIT :batch"
)


def insert_postings(connection: Connection, documents: Sequence[SearchDocument]) -> None:
    """Insert the postings of ``documents`` (distinct books without postings, at most a batch)
    on a synchronous connection, as :func:`put_postings` would: for a migration."""
    insert = _insert(connection.dialect.name, documents)
    if insert is None:
        return
    statement, parameters = insert
    if isinstance(statement, str):
        connection.exec_driver_sql(statement, parameters)
    else:
        connection.execute(statement, parameters)


def stored_documents(connection: Connection, analyzer: Analyzer) -> Iterator[list[SearchDocument]]:
    """The documents of every book stored, in batches of up to 500 by id (memory stays bounded
    whatever the catalog's size), for a migration that fills an index from ``books``."""
    after = 0
    while True:
        rows = connection.execute(_READ_BOOKS, {"after": after, "batch": _READ_BATCH}).all()
        if not rows:
            return
        yield [
            analyzer.document_of(
                row.id, title=row.title, author=row.author, description=row.description
            )
            for row in rows
        ]
        after = rows[-1].id
