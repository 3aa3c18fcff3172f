"""Hypothesis strategies for the catalog, commerce, reviews and analytics: ISBNs, prices, text,
and valid commands.

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

from bookshop_core.analytics.commands import (
    MAX_LOW_STOCK_LIMIT,
    MAX_TOP_LIMIT,
    LowStockQuery,
    SalesSummaryQuery,
    TopBooksQuery,
)
from bookshop_core.analytics.entities import Period, TopBooksSort
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
from bookshop_core.catalog.entities import SortDirection
from bookshop_core.catalog.isbn import isbn10_check_digit, isbn13_check_digit
from bookshop_core.commerce.commands import (
    IDEMPOTENCY_KEY_MAX,
    AddToCart,
    Checkout,
    ListOrders,
    SetOrderStatus,
    SetQuantity,
)
from bookshop_core.commerce.entities import OrderStatus
from bookshop_core.kernel.money import MAX_PRICE, cents_to_money, money_to_cents
from bookshop_core.kernel.validation import UNSET, Unset
from bookshop_core.reviews.commands import (
    BULK_DELETE_MAX,
    MAX_RATING,
    MIN_RATING,
    REVIEW_TEXT_MAX,
    BulkDeleteReviews,
    CreateReview,
    ModerateReviews,
    UpdateReview,
)
from bookshop_core.reviews.entities import ReviewSort

__all__ = [
    "add_to_cart_commands",
    "adjust_stock_commands",
    "authors",
    "bulk_delete_reviews_commands",
    "checkout_commands",
    "create_book_commands",
    "create_genre_commands",
    "create_review_commands",
    "descriptions",
    "genre_names",
    "idempotency_keys",
    "isbn10s",
    "isbn13s",
    "isbn_spellings",
    "isbns",
    "list_orders_commands",
    "low_stock_queries",
    "moderate_reviews_commands",
    "prices",
    "publish_dates",
    "quantities",
    "ratings",
    "review_texts",
    "sales_summary_queries",
    "set_order_status_commands",
    "set_quantity_commands",
    "set_stock_commands",
    "texts",
    "time_zones",
    "titles",
    "top_books_queries",
    "update_book_commands",
    "update_genre_commands",
    "update_review_commands",
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


# -- commerce --------------------------------------------------------------------------------


def quantities(max_value: int = 5) -> st.SearchStrategy[int]:
    """A cart quantity from 1 to ``max_value``."""
    return st.integers(min_value=1, max_value=max_value)


def add_to_cart_commands(
    book_ids: st.SearchStrategy[int] | None = None, max_quantity: int = 5
) -> st.SearchStrategy[AddToCart]:
    """An :class:`~bookshop_core.commerce.AddToCart` of one of ``book_ids`` (default: any
    plausible id)."""
    ids = book_ids if book_ids is not None else st.integers(min_value=1, max_value=2**31)
    return st.builds(AddToCart, book_id=ids, quantity=quantities(max_quantity))


def set_quantity_commands(max_quantity: int = 5) -> st.SearchStrategy[SetQuantity]:
    """A :class:`~bookshop_core.commerce.SetQuantity`."""
    return st.builds(SetQuantity, quantity=quantities(max_quantity))


def idempotency_keys() -> st.SearchStrategy[str]:
    """An idempotency key: printable ASCII, 1 to 255 characters."""
    return st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        min_size=1,
        max_size=IDEMPOTENCY_KEY_MAX,
    )


def checkout_commands(
    keys: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Checkout]:
    """A :class:`~bookshop_core.commerce.Checkout`, with or without a key, sometimes asking
    the demo gateway to decline."""
    return st.builds(
        Checkout,
        idempotency_key=keys if keys is not None else st.none() | idempotency_keys(),
        force_payment_failure=st.booleans(),
    )


def set_order_status_commands() -> st.SearchStrategy[SetOrderStatus]:
    """A :class:`~bookshop_core.commerce.SetOrderStatus` to any status an admin may ask for
    (allowed by the transition table or not)."""
    targets = [s for s in OrderStatus if s is not OrderStatus.PENDING]
    return st.builds(SetOrderStatus, status=st.sampled_from(targets))


def list_orders_commands() -> st.SearchStrategy[ListOrders]:
    """A :class:`~bookshop_core.commerce.ListOrders` with optional filters."""
    statuses = [s for s in OrderStatus if s is not OrderStatus.PENDING]
    days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
    return st.builds(
        ListOrders,
        page=st.integers(min_value=1, max_value=5),
        size=st.integers(min_value=1, max_value=100),
        status=st.none() | st.sampled_from(statuses),
        user_id=st.none() | st.integers(min_value=1, max_value=1000),
        date_from=st.none() | days,
    )


def ratings() -> st.SearchStrategy[int]:
    """A review's rating, 1 to 5."""
    return st.integers(MIN_RATING, MAX_RATING)


def review_texts() -> st.SearchStrategy[str | None]:
    """A review's text (at most 2000 characters once stripped), or ``None``."""
    return st.none() | texts(REVIEW_TEXT_MAX)


def create_review_commands() -> st.SearchStrategy[CreateReview]:
    """A valid :class:`~bookshop_core.reviews.CreateReview`."""
    return st.builds(CreateReview, rating=ratings(), text=review_texts())


def update_review_commands() -> st.SearchStrategy[UpdateReview]:
    """A valid :class:`~bookshop_core.reviews.UpdateReview`: any subset of the fields
    (``text=None`` clears the text)."""
    return st.builds(
        UpdateReview,
        rating=st.just(UNSET) | ratings(),
        text=st.just(UNSET) | review_texts(),
    )


@st.composite
def moderate_reviews_commands(draw: st.DrawFn) -> ModerateReviews:
    """A valid :class:`~bookshop_core.reviews.ModerateReviews` (a rating range never upside
    down)."""
    low = draw(st.none() | ratings())
    high = draw(st.none() | st.integers(low or MIN_RATING, MAX_RATING))
    return ModerateReviews(
        page=draw(st.integers(1, 5)),
        per_page=draw(st.integers(1, 100)),
        book_id=draw(st.none() | _ids()),
        user_id=draw(st.none() | _ids()),
        rating_min=low,
        rating_max=high,
        sort_by=draw(st.sampled_from(ReviewSort)),
        sort_dir=draw(st.sampled_from(SortDirection)),
    )


def bulk_delete_reviews_commands() -> st.SearchStrategy[BulkDeleteReviews]:
    """A valid :class:`~bookshop_core.reviews.BulkDeleteReviews` (1 to 50 ids)."""
    ids = st.lists(_ids(), min_size=1, max_size=BULK_DELETE_MAX)
    return st.builds(BulkDeleteReviews, review_ids=ids.map(tuple))


def time_zones() -> st.SearchStrategy[str]:
    """An IANA time zone name, with daylight-saving zones of both hemispheres and odd offsets
    (India +05:30, Nepal +05:45, the Chatham Islands +12:45/+13:45)."""
    return st.sampled_from(
        [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "Australia/Sydney",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Pacific/Chatham",
        ]
    )


def sales_summary_queries() -> st.SearchStrategy[SalesSummaryQuery]:
    """A valid :class:`~bookshop_core.analytics.SalesSummaryQuery` (the shop's zone or one of
    :func:`time_zones`)."""
    return st.builds(
        SalesSummaryQuery, period=st.sampled_from(list(Period)), tz=st.none() | time_zones()
    )


def top_books_queries() -> st.SearchStrategy[TopBooksQuery]:
    """A valid :class:`~bookshop_core.analytics.TopBooksQuery`."""
    return st.builds(
        TopBooksQuery,
        sort_by=st.sampled_from(list(TopBooksSort)),
        limit=st.integers(min_value=1, max_value=MAX_TOP_LIMIT),
        period=st.none() | st.sampled_from(list(Period)),
        tz=st.none() | time_zones(),
    )


def low_stock_queries(max_threshold: int = 1000) -> st.SearchStrategy[LowStockQuery]:
    """A valid :class:`~bookshop_core.analytics.LowStockQuery`."""
    return st.builds(
        LowStockQuery,
        threshold=st.integers(min_value=0, max_value=max_threshold),
        limit=st.integers(min_value=1, max_value=MAX_LOW_STOCK_LIMIT),
    )
