"""``bookshop reviews``: moderate reviews: list them with filters, soft-delete some.

The operator acts as :meth:`Principal.system` (an admin at a trusted console). Examples::

    bookshop reviews list --book 12 --rating-max 2
    bookshop reviews list --user 7 --sort-by rating --sort-dir asc --json
    bookshop reviews delete 41 42 43      # deleted ones and unknown ids are skipped
"""

from __future__ import annotations

from typing import Any

import click

from bookshop_core.catalog.entities import SortDirection
from bookshop_core.convert import unstructure
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from bookshop_core.kernel.principal import Principal
from bookshop_core.reviews import (
    MAX_RATING,
    MIN_RATING,
    BulkDeleteReviews,
    ModerateReviews,
    Review,
    ReviewSort,
)
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["reviews"]

_RATING = click.IntRange(MIN_RATING, MAX_RATING)


@click.group()
def reviews() -> None:
    """Moderate reviews: list them, delete some.

    Only buyers review (one live review per book); a deleted review no longer counts in its
    book's rating, and its author may write a new one.
    """


def _echo_reviews(page: Page[Review]) -> None:
    if page.items:
        click.echo(f"{'ID':>6}  {'RATING':>6}  {'CREATED':<25} {'BOOK':<30} AUTHOR: TEXT")
    for review in page.items:
        created = review.created_at.isoformat(timespec="seconds")
        title = review.book.title if len(review.book.title) <= 30 else review.book.title[:29] + "…"
        text = (review.text or "").replace("\n", " ")
        if len(text) > 60:
            text = text[:59] + "…"
        click.echo(
            f"{review.id:>6}  {review.rating:>6}  {created:<25} {title:<30} "
            f"{review.author.display_name}: {text}"
        )
    noun = "review" if page.total == 1 else "reviews"
    click.echo(f"page {page.page} of {max(page.total_pages, 1)}, {page.total} {noun}")


def _page_json(page: Page[Review]) -> dict[str, Any]:
    return {
        "items": [unstructure(review) for review in page.items],
        "total_count": page.total,
        "page": page.page,
        "per_page": page.size,
        "total_pages": page.total_pages,
    }


@reviews.command("list")
@click.option("--book", "book_id", type=click.IntRange(min=1), help="Only this book's.")
@click.option("--user", "user_id", type=click.IntRange(min=1), help="Only this user's.")
@click.option("--rating-min", type=_RATING, help="Only ratings at or above.")
@click.option("--rating-max", type=_RATING, help="Only ratings at or below.")
@click.option(
    "--sort-by",
    type=click.Choice([s.value for s in ReviewSort]),
    default=ReviewSort.DATE.value,
    show_default=True,
)
@click.option(
    "--sort-dir",
    type=click.Choice([d.value for d in SortDirection]),
    default=SortDirection.DESC.value,
    show_default=True,
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--per-page",
    type=click.IntRange(1, MAX_PAGE_SIZE),
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
)
@json_option
@click.pass_obj
def list_reviews(
    state: CliState,
    book_id: int | None,
    user_id: int | None,
    rating_min: int | None,
    rating_max: int | None,
    sort_by: str,
    sort_dir: str,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """List live reviews matching every option, newest first unless sorted otherwise."""
    query = ModerateReviews(
        page=page,
        per_page=per_page,
        book_id=book_id,
        user_id=user_id,
        rating_min=rating_min,
        rating_max=rating_max,
        sort_by=ReviewSort(sort_by),
        sort_dir=SortDirection(sort_dir),
    )
    found = state.run(lambda shop: shop.reviews.moderate(Principal.system(), query))
    if as_json:
        echo_json(_page_json(found))
    else:
        _echo_reviews(found)


@reviews.command()
@click.argument("review_ids", nargs=-1, required=True, type=click.IntRange(min=1))
@click.pass_obj
def delete(state: CliState, review_ids: tuple[int, ...]) -> None:
    """Soft-delete the reviews REVIEW_IDS (1 to 50); missing and already deleted ones are
    skipped."""
    command = BulkDeleteReviews(review_ids=review_ids)
    count = state.run(lambda shop: shop.reviews.delete_many(Principal.system(), command))
    noun = "review" if count == 1 else "reviews"
    click.echo(f"Deleted {count} {noun}.")
