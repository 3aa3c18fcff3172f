"""Hypothesis strategies for the catalog: ISBNs, prices, text, and valid commands.

Every strategy here yields values the core accepts, so they combine freely::

    from hypothesis import given
    from bookshop_adapters.testing import strategies as bs

    @given(bs.create_book_commands())
    def test_anything(command): ...

``isbn10s``/``isbn13s`` yield bare valid ISBNs; ``isbn_spellings`` the ways people write them
(hyphens, spaces, lowercase ``x``), all of which normalise to the same ISBN-13.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from bookshop_core.catalog.commands import (
    AUTHOR_MAX,
    DESCRIPTION_MAX,
    GENRE_NAME_MAX,
    MAX_STOCK,
    PUBLISH_DATE_MAX,
    PUBLISH_DATE_MIN,
    TITLE_MAX,
    AdjustStock,
    CreateBook,
    CreateGenre,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.isbn import isbn10_check_digit, isbn13_check_digit
from bookshop_core.kernel.money import MAX_PRICE, cents_to_money, money_to_cents
from bookshop_core.kernel.validation import UNSET, Unset

__all__ = [
    "adjust_stock_commands",
    "authors",
    "create_book_commands",
    "create_genre_commands",
    "descriptions",
    "genre_names",
    "isbn10s",
    "isbn13s",
    "isbn_spellings",
    "isbns",
    "prices",
    "publish_dates",
    "set_stock_commands",
    "texts",
    "titles",
    "update_book_commands",
    "update_genre_commands",
]

_DIGITS = "0123456789"


@st.composite
def isbn10s(draw: st.DrawFn) -> str:
    """A bare, valid ISBN-10 (ten characters, the last may be ``X``)."""
    body = draw(st.text(_DIGITS, min_size=9, max_size=9))
    return body + isbn10_check_digit(body)


@st.composite
def isbn13s(draw: st.DrawFn, prefixes: tuple[str, ...] = ("978", "979")) -> str:
    """A bare, valid ISBN-13 starting with one of ``prefixes``."""
    prefix = draw(st.sampled_from(prefixes))
    body = prefix + draw(st.text(_DIGITS, min_size=12 - len(prefix), max_size=12 - len(prefix)))
    return body + isbn13_check_digit(body)


def isbns() -> st.SearchStrategy[str]:
    """A bare valid ISBN-10 or ISBN-13."""
    return st.one_of(isbn10s(), isbn13s())


@st.composite
def isbn_spellings(draw: st.DrawFn, isbn: str | None = None) -> str:
    """``isbn`` (or a drawn valid one) written with separators people use.

    Hyphens and spaces go between characters, at the ends at most one space, and an ``X``
    check character may be lowercase; never longer than the 32 characters accepted.
    """
    bare = isbn if isbn is not None else draw(isbns())
    out: list[str] = []
    budget = 32 - len(bare) - 2
    for index, char in enumerate(bare):
        if index and budget > 0 and draw(st.booleans()):
            out.append(draw(st.sampled_from(["-", " "])))
            budget -= 1
        out.append(char.lower() if char == "X" and draw(st.booleans()) else char)
    text = "".join(out)
    if draw(st.booleans()):
        text = f" {text} "
    return text


def prices(
    min_value: Decimal = Decimal("0.01"), max_value: Decimal = MAX_PRICE
) -> st.SearchStrategy[Decimal]:
    """An exact two-decimal price from ``min_value`` to ``max_value`` (both inclusive)."""
    return st.integers(money_to_cents(min_value), money_to_cents(max_value)).map(cents_to_money)


def texts(
    max_size: int, *, alphabet: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[str]:
    """Text the catalog accepts for a required field: no NUL, not blank, at most ``max_size``
    characters once stripped (surrounding whitespace is allowed; the core strips it)."""
    chars = alphabet or st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
    return (
        st.text(chars, min_size=1, max_size=min(max_size, 60))
        .filter(lambda text: bool(text.strip()))
        .filter(lambda text: len(text.strip()) <= max_size)
    )


def titles() -> st.SearchStrategy[str]:
    """A book title."""
    return texts(TITLE_MAX)


def authors() -> st.SearchStrategy[str]:
    """An author's name."""
    return texts(AUTHOR_MAX)


def descriptions() -> st.SearchStrategy[str | None]:
    """A description, or ``None``."""
    return st.none() | texts(DESCRIPTION_MAX)


def genre_names() -> st.SearchStrategy[str]:
    """A genre name."""
    return texts(GENRE_NAME_MAX)


def publish_dates() -> st.SearchStrategy[date]:
    """A publish date in the accepted range."""
    return st.dates(PUBLISH_DATE_MIN, PUBLISH_DATE_MAX)


def _ids() -> st.SearchStrategy[int]:
    return st.integers(1, 1_000)


def create_genre_commands(
    names: st.SearchStrategy[str] | None = None,
    parent_ids: st.SearchStrategy[int | None] | None = None,
) -> st.SearchStrategy[CreateGenre]:
    """A valid :class:`CreateGenre` (parents default to none)."""
    return st.builds(
        CreateGenre,
        name=names or genre_names(),
        parent_id=parent_ids if parent_ids is not None else st.none(),
    )


def update_genre_commands(
    names: st.SearchStrategy[str] | None = None,
    parent_ids: st.SearchStrategy[int | None] | None = None,
) -> st.SearchStrategy[UpdateGenre]:
    """A valid :class:`UpdateGenre`: each field left out or given."""
    unset: st.SearchStrategy[Unset] = st.just(UNSET)
    return st.builds(
        UpdateGenre,
        name=unset | (names or genre_names()),
        parent_id=unset | (parent_ids if parent_ids is not None else st.none() | _ids()),
    )


def create_book_commands(
    *,
    genre_ids: st.SearchStrategy[int | None] | None = None,
    isbn_values: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[CreateBook]:
    """A valid :class:`CreateBook`; genres default to none, ISBNs to none or any valid one."""
    return st.builds(
        CreateBook,
        title=titles(),
        author=authors(),
        price=prices(),
        isbn=isbn_values if isbn_values is not None else st.none() | isbn_spellings(),
        genre_id=genre_ids if genre_ids is not None else st.none(),
        description=descriptions(),
        cover_image_url=st.none() | st.just("https://example.com/cover.jpg"),
        publish_date=st.none() | publish_dates(),
    )


def update_book_commands(
    *,
    genre_ids: st.SearchStrategy[int | None] | None = None,
    isbn_values: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[UpdateBook]:
    """A valid :class:`UpdateBook`: each field left out, given, or (when optional) cleared."""
    unset: st.SearchStrategy[Unset] = st.just(UNSET)
    fields: dict[str, st.SearchStrategy[Any]] = {
        "title": unset | titles(),
        "author": unset | authors(),
        "price": unset | prices(),
        "isbn": unset | (isbn_values if isbn_values is not None else st.none() | isbns()),
        "genre_id": unset | (genre_ids if genre_ids is not None else st.none()),
        "description": unset | descriptions(),
        "cover_image_url": unset | st.none() | st.just("/covers/new.png"),
        "publish_date": unset | st.none() | publish_dates(),
    }
    return st.builds(UpdateBook, **fields)


def set_stock_commands(max_quantity: int = MAX_STOCK) -> st.SearchStrategy[SetStock]:
    """A valid :class:`SetStock`."""
    return st.builds(SetStock, quantity=st.integers(0, max_quantity))


def adjust_stock_commands(max_size: int = MAX_STOCK) -> st.SearchStrategy[AdjustStock]:
    """A valid :class:`AdjustStock` (the result may still be refused by the store)."""
    return st.builds(AdjustStock, delta=st.integers(-max_size, max_size))
