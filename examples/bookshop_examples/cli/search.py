"""Search: ``search "query"`` finds books, ``search-reindex`` rebuilds the index."""

from __future__ import annotations

from typing import Any

import click

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.entities import SortDirection
from bookshop_core.convert import structure, unstructure
from bookshop_core.kernel.principal import Principal
from bookshop_core.search import (
    SORT_ALIASES,
    Facets,
    PriceBucket,
    SearchBooks,
    SearchResult,
    SearchSort,
)
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["search", "search_reindex"]


def _given(**values: Any) -> dict[str, Any]:
    """The options the user gave (click leaves the others ``None``), for ``structure``."""
    return {name: value for name, value in values.items() if value is not None}


def _bucket(bucket: PriceBucket) -> str:
    if bucket.max is None:
        return f"{bucket.min:.2f} and over: {bucket.count}"
    if not bucket.min:
        return f"under {bucket.max:.2f}: {bucket.count}"
    return f"{bucket.min:.2f} to {bucket.max:.2f}: {bucket.count}"


def _echo_facets(facets: Facets) -> None:
    genres = ", ".join(f"{g.name} {g.count}" for g in facets.genres) or "-"
    click.echo(f"genres: {genres}")
    click.echo(f"in stock: {facets.in_stock}")
    click.echo(f"prices: {'; '.join(_bucket(b) for b in facets.prices)}")


def _echo_result(result: SearchResult) -> None:
    page = result.page
    if page.items:
        click.echo(f"{'ID':>5}  {'SCORE':>5}  {'PRICE':>9}  {'STOCK':>6}  TITLE / AUTHOR")
    for hit in page.items:
        book = hit.book
        click.echo(
            f"{book.id:>5}  {hit.score:>5}  {book.price:>9.2f}  {book.stock_quantity:>6}  "
            f"{book.title} / {book.author}"
        )
    noun = "book" if page.total == 1 else "books"
    click.echo(f"page {page.page} of {max(page.total_pages, 1)}, {page.total} {noun}")
    if result.suggestion is not None:
        click.echo(f"Did you mean: {result.suggestion}")
    if result.facets is not None:
        _echo_facets(result.facets)


@click.command("search")
@click.argument("query", default="")
@click.option("--genre-id", type=int, help="Only this genre and its sub-genres.")
@click.option("--author", help="Author contains this text (case-insensitive).")
@click.option("--min-price")
@click.option("--max-price")
@click.option("--in-stock", is_flag=True, default=None, help="Only books in stock.")
@click.option(
    "--sort",
    type=click.Choice([*(s.value for s in SearchSort), *SORT_ALIASES]),
    help="Default: relevance with a query, else title; the listing sorts order as the listing "
    "does (date: publish date; newest: created_at).",
)
@click.option("--dir", "sort_dir", type=click.Choice([d.value for d in SortDirection]))
@click.option("--page", type=int)
@click.option("--size", type=int, help="Books per page (default 20, at most 100).")
@click.option("--facets", is_flag=True, default=None, help="Also count per genre, stock, price.")
@json_option
@click.pass_obj
def search(
    state: CliState, /, query: str, as_json: bool, **options: str | int | bool | None
) -> None:
    """Find books whose title, author or description match QUERY, best match first.

    All words must match; "a phrase" must appear as typed; -word and -"a phrase" exclude;
    the last word also matches as a prefix (unless followed by a space). Without QUERY,
    lists the books the filters select. When nothing is found, suggests a close query.
    """
    command = structure({"q": query, **_given(**options)}, SearchBooks)
    result = state.run(lambda shop: shop.search.search(command))
    if as_json:
        echo_json(unstructure(result))
    else:
        _echo_result(result)


@click.command("search-reindex")
@click.pass_obj
def search_reindex(state: CliState) -> None:
    """Rebuild the search index from the books.

    Needed after an upgrade that changes how text is analysed, or after books were written
    into the database behind the library's back; the catalog keeps the index up to date
    otherwise.
    """

    async def run(shop: Shop) -> int:
        return await shop.search.reindex(Principal.system())

    count = state.run(run)
    click.echo(f"Reindexed {count} {'book' if count == 1 else 'books'}.")
