"""Contract properties: random sequences of catalog calls, valid and invalid, on any backend.

Two properties, checked with Hypothesis on fresh stores made by the ``shop_factory`` fixture:

- a use case that fails leaves the store exactly as it was (:func:`snapshot` before == after),
  including failures discovered after writing (a unique ISBN hit by an UPDATE, a handler that
  refuses a restock inside the transaction);
- every backend behaves like the in-memory reference model: the same calls give the same
  outcomes (error codes and fields) and the same store, up to the ids each store assigns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from attrs import frozen
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.testing.builders import ADMIN, CUSTOMER
from bookshop_adapters.testing.pytest_plugin import ShopFactory
from bookshop_adapters.testing.snapshot import StoreSnapshot, snapshot
from bookshop_adapters.testing.strategies import prices
from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.entities import BookRestocked
from bookshop_core.convert import structure
from bookshop_core.errors import DomainError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.principal import Principal
from bookshop_core.kernel.validation import UNSET

__all__ = ["StoreProperties", "operations"]

#: How many random call sequences each property tries, per backend.
EXAMPLES = {"memory": 200}
SQL_EXAMPLES = 20
#: An id no store in these tests ever reaches.
MISSING_ID = 999_999

_GENRE_NAMES = ("Fantasy", "fantasy", "Poetry", "History", "POETRY")
_ISBNS = ("0-306-40615-2", "9780306406157", "978-0-262-03384-8", "9791090636071")
_TITLES = ("Dune", "dune", "Emma", "Doomed Book")  # "Doomed" restocks are refused mid-transaction


class RestockRefused(Exception):
    """What the in-transaction handler raises to roll a restock back."""


async def _refuse_doomed_restocks(event: BookRestocked, uow: object) -> None:
    if event.title.startswith("Doomed"):
        raise RestockRefused(event.title)


# -- operations ---------------------------------------------------------------------------
# A "pick" chooses what an operation acts on, so that the same sequence means the same thing
# on stores that number their rows differently: k >= 0 is the k-th existing row (by id,
# modulo their number), -1 an id that exists nowhere; for parents, None means "no parent".


def _pick(ids: list[int], pick: int) -> int:
    return ids[pick % len(ids)] if pick >= 0 and ids else MISSING_ID


def _parent(ids: list[int], pick: int | None) -> int | None:
    return None if pick is None else _pick(ids, pick)


@frozen
class Op:
    """One catalog call, possibly made by a customer instead of the admin."""

    name: str
    args: dict[str, Any]
    as_customer: bool = False

    def __repr__(self) -> str:
        who = " (as customer)" if self.as_customer else ""
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args.items())}){who}"


async def _apply(op: Op, shop: Shop, state: StoreSnapshot) -> object:
    who: Principal = CUSTOMER if op.as_customer else ADMIN
    genres = [genre.id for genre in state.genres]
    books = [book.id for book in state.books]
    a = op.args
    catalog = shop.catalog
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "create_genre": lambda: catalog.create_genre(
            who, CreateGenre(name=a["name"], parent_id=_parent(genres, a["parent"]))
        ),
        "rename_genre": lambda: catalog.update_genre(
            who, _pick(genres, a["genre"]), UpdateGenre(name=a["name"])
        ),
        "move_genre": lambda: catalog.update_genre(
            who, _pick(genres, a["genre"]), UpdateGenre(parent_id=_parent(genres, a["parent"]))
        ),
        "delete_genre": lambda: catalog.delete_genre(who, _pick(genres, a["genre"])),
        "create_book": lambda: catalog.create_book(
            who,
            CreateBook(
                title=a["title"],
                author="Author",
                price=a["price"],
                isbn=a["isbn"],
                genre_id=_parent(genres, a["genre"]),
            ),
        ),
        "update_book": lambda: catalog.update_book(
            who,
            _pick(books, a["book"]),
            UpdateBook(
                title=a["title"],
                price=a["price"],
                isbn=a["isbn"],
                genre_id=UNSET if a["genre"] == "keep" else _parent(genres, a["genre"]),
            ),
        ),
        "delete_book": lambda: catalog.delete_book(who, _pick(books, a["book"])),
        "set_stock": lambda: catalog.set_stock(
            who, _pick(books, a["book"]), SetStock(quantity=a["quantity"])
        ),
        "adjust_stock": lambda: catalog.adjust_stock(
            who, _pick(books, a["book"]), AdjustStock(delta=a["delta"])
        ),
        "create_book_from_json": lambda: catalog.create_book(who, structure(a["data"], CreateBook)),
    }
    return await calls[op.name]()


def _ops() -> st.SearchStrategy[Op]:
    genre_pick = st.integers(-1, 3)
    parent_pick = st.none() | genre_pick
    book_pick = st.integers(-1, 5)
    isbn = st.none() | st.sampled_from(_ISBNS)
    price = prices(max_value=Decimal("20.00"))
    bad_json = st.sampled_from(
        [
            {"title": "", "author": "A", "price": "1"},
            {"title": "T", "author": "A", "price": "-1"},
            {"title": "T", "author": "A", "price": "1.001", "isbn": "123"},
            {"title": "T", "author": "A", "price": "1", "extra": True},
            {"title": "T\x00", "author": 5, "price": "1"},
            {"title": "T", "author": "A", "price": "1", "genre_id": True},
        ]
    )
    good_json = st.builds(
        lambda title, isbn: {"title": title, "author": "A", "price": "9.99", "isbn": isbn},
        st.sampled_from(_TITLES),
        isbn,
    )

    as_customer = st.sampled_from([False] * 7 + [True])  # one call in eight

    def op(call: str, /, **args: st.SearchStrategy[Any]) -> st.SearchStrategy[Op]:
        return st.builds(Op, st.just(call), st.fixed_dictionaries(args), as_customer)

    return st.one_of(
        op("create_genre", name=st.sampled_from(_GENRE_NAMES), parent=parent_pick),
        op("rename_genre", genre=genre_pick, name=st.sampled_from(_GENRE_NAMES)),
        op("move_genre", genre=genre_pick, parent=parent_pick),
        op("delete_genre", genre=genre_pick),
        op(
            "create_book",
            title=st.sampled_from(_TITLES),
            price=price,
            isbn=isbn,
            genre=st.none() | genre_pick,
        ),
        op(
            "update_book",
            book=book_pick,
            title=st.just(UNSET) | st.sampled_from(_TITLES),
            price=st.just(UNSET) | price,
            isbn=st.just(UNSET) | isbn,
            genre=st.just("keep") | st.none() | genre_pick,
        ),
        op("delete_book", book=book_pick),
        op("set_stock", book=book_pick, quantity=st.integers(0, 3)),
        op("adjust_stock", book=book_pick, delta=st.integers(-3, 3)),
        op("create_book_from_json", data=bad_json | good_json),
    )


#: Every sequence starts from this small catalog, so that random calls often collide with it.
SETUP = (
    Op("create_genre", {"name": "Fiction", "parent": None}),
    Op("create_genre", {"name": "Fantasy", "parent": 0}),
    Op("create_genre", {"name": "Poetry", "parent": None}),
    Op("create_book", {"title": "Dune", "price": Decimal("9.99"), "isbn": _ISBNS[0], "genre": 1}),
    Op("create_book", {"title": "Emma", "price": Decimal("5.00"), "isbn": _ISBNS[2], "genre": 0}),
    Op(
        "create_book",
        {"title": "Doomed Book", "price": Decimal("1.00"), "isbn": None, "genre": None},
    ),
    Op("set_stock", {"book": 0, "quantity": 2}),
)


def operations(max_size: int = 12) -> st.SearchStrategy[list[Op]]:
    """Sequences of catalog calls that often collide: shared names, ISBNs, missing ids."""
    return st.lists(_ops(), min_size=1, max_size=max_size)


# -- running ------------------------------------------------------------------------------

Outcome = tuple[str, ...]


async def _set_up(shop: Shop, clock: ManualClock) -> None:
    for op in SETUP:
        outcome, _, _ = await _run(op, shop, clock)
        assert outcome == ("ok",), f"setting up with {op!r} failed: {outcome}"


async def _run(
    op: Op, shop: Shop, clock: ManualClock
) -> tuple[Outcome, StoreSnapshot, StoreSnapshot]:
    """Apply ``op``; return its outcome and the store before and after."""
    before = await snapshot(shop)
    clock.advance(seconds=1)
    try:
        await _apply(op, shop, before)
    except DomainError as exc:
        outcome: Outcome = ("error", exc.code, str(exc.field))
    except RestockRefused:
        outcome = ("refused",)
    else:
        outcome = ("ok",)
    return outcome, before, await snapshot(shop)


def _up_to_ids(state: StoreSnapshot) -> tuple[object, ...]:
    """The store with every id replaced by its rank, so stores numbering rows differently
    (e.g. PostgreSQL spends sequence values on failed inserts) compare equal."""
    genre_rank = {genre.id: rank for rank, genre in enumerate(state.genres)}
    genres = tuple(
        (genre.name, genre_rank.get(genre.parent_id) if genre.parent_id else None)
        for genre in state.genres
    )
    books = tuple(
        attrs.evolve(
            book,
            id=rank,
            genre_id=genre_rank.get(book.genre_id) if book.genre_id else None,
        )
        for rank, book in enumerate(state.books)
    )
    return genres, books


def property_settings(
    dialect: str, examples: dict[str, int], sql_examples: int, **more: Any
) -> settings:
    """The Hypothesis settings of a contract property on the backend named ``dialect``.

    Args:
        dialect: The backend's ``dialect_name`` (see :func:`_dialect_of`).
        examples: Examples per backend name; ``sql_examples`` for any backend not named.
        sql_examples: Examples on the backends ``examples`` does not name.
        more: Further :class:`hypothesis.settings` (``stateful_step_count``, say).

    Returns:
        No deadline; the function-scoped ``shop_factory`` shared by every example; shrinking
        in memory only: it replays a failing case hundreds of times, each on a fresh store,
        cheap in memory, minutes on SQL, where a failure is reported as generated.
    """
    phases = tuple(Phase) if dialect == "memory" else tuple(p for p in Phase if p != Phase.shrink)
    return settings(
        max_examples=examples.get(dialect, sql_examples),
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        **more,
    )


def _settings(backend: str) -> settings:
    return property_settings(backend, EXAMPLES, SQL_EXAMPLES)


def _dialect_of(shop_factory: ShopFactory) -> str:
    """The backend's ``dialect_name`` (memory is cheap, and the reference model itself)."""

    async def probe() -> str:
        async with shop_factory.backends() as backend:
            return backend.dialect_name

    return asyncio.run(probe())


def _events() -> EventBus:
    bus = EventBus()
    bus.subscribe_in_transaction(BookRestocked, _refuse_doomed_restocks)
    return bus


class StoreProperties:
    """Properties of whole call sequences: atomic failures, agreement with the reference."""

    def test_a_failing_use_case_leaves_the_store_exactly_as_before(
        self, shop_factory: ShopFactory
    ) -> None:
        """After any failed call in any sequence of calls, the store is exactly as before it."""
        dialect = _dialect_of(shop_factory)

        async def check(ops: list[Op]) -> None:
            clock = ManualClock()
            async with shop_factory.open(clock=clock, events=_events()) as shop:
                await _set_up(shop, clock)
                for op in ops:
                    outcome, before, after = await _run(op, shop, clock)
                    if outcome[0] != "ok":
                        assert after == before, (
                            f"{op!r} failed with {outcome} but changed the store"
                        )

        @_settings(dialect)
        @given(ops=operations())
        def property_holds(ops: list[Op]) -> None:
            asyncio.run(check(ops))

        property_holds()

    def test_every_backend_agrees_with_the_reference_model(self, shop_factory: ShopFactory) -> None:
        """The same calls give the same outcomes and the same store as the memory backend."""
        dialect = _dialect_of(shop_factory)
        if dialect == "memory":
            pytest.skip("the memory backend is the reference model itself")

        async def check(ops: list[Op]) -> None:
            clock, reference_clock = ManualClock(), ManualClock()
            async with (
                shop_factory.open(clock=clock, events=_events()) as shop,
                build_shop("memory://", clock=reference_clock, events=_events()) as reference,
            ):
                await _set_up(shop, clock)
                await _set_up(reference, reference_clock)
                for number, op in enumerate(ops, start=1):
                    outcome, _, after = await _run(op, shop, clock)
                    expected, _, reference_after = await _run(op, reference, reference_clock)
                    where = f"call {number}, {op!r}"
                    assert outcome == expected, f"{where}: {outcome} != reference {expected}"
                    assert _up_to_ids(after) == _up_to_ids(reference_after), where

        @_settings(dialect)
        @given(ops=operations())
        def property_holds(ops: list[Op]) -> None:
            asyncio.run(check(ops))

        property_holds()
