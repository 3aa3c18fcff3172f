"""``bookshop reviews list|delete``, run as a real process on a SQLite file whose reviews were
written in-process through the shop (real purchases, then reviews).

What moderation does is the reviews contract's; here: the commands reach the use cases as
the operator (``Principal.system()``), print what happened, and refuse cleanly.
"""

from __future__ import annotations

import asyncio

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.contract.reviews import add_reviewers, buy
from bookshop_core import ManualClock
from bookshop_core.reviews import CreateReview
from tests.examples.test_cli_commands import Cli, cli, migrated_db

__all__ = ["cli", "migrated_db"]  # the CLI on a fresh migrated database, shared


def seed_reviews(database_url: str) -> list[int]:
    """Two buyers ("Ann" and an unnamed one) of "Dune"; Ann rates it 5, the other 2."""

    async def run() -> list[int]:
        clock = ManualClock()
        async with build_shop(database_url, clock=clock) as shop:
            ann, other = await add_reviewers(shop, clock, 2, display_names=["Ann"])
            book = await add_book(shop, "Dune", stock=5)
            made = []
            for buyer, rating in ((ann, 5), (other, 2)):
                await buy(shop, buyer, book)
                review = await shop.reviews.create(buyer, book.id, CreateReview(rating=rating))
                made.append(review.id)
        return made

    return asyncio.run(run())


def test_list_prints_reviews_and_filters_them(cli: Cli) -> None:
    """`reviews list` prints a line per review with its author's name and a page line;
    `--rating-max` filters; `--json` gives the admin envelope."""
    _, other = seed_reviews(cli.database_url)
    out = cli.ok("reviews", "list").stdout
    assert "Ann: " in out
    assert "page 1 of 1, 2 reviews" in out
    body = cli.json("reviews", "list", "--rating-max", "3")
    assert [item["id"] for item in body["items"]] == [other]
    assert body["total_count"] == 1
    assert body["items"][0]["author"]["display_name"].startswith("Reader #")


def test_delete_soft_deletes_and_counts(cli: Cli) -> None:
    """`reviews delete` says how many went (unknown ids skipped); they leave the list."""
    ann, other = seed_reviews(cli.database_url)
    assert cli.ok("reviews", "delete", str(ann), "999").stdout.strip() == "Deleted 1 review."
    assert [item["id"] for item in cli.json("reviews", "list")["items"]] == [other]


def test_an_upside_down_rating_range_is_refused(cli: Cli) -> None:
    """--rating-min above --rating-max: a validation error naming the field, exit 1."""
    result = cli("reviews", "list", "--rating-min", "4", "--rating-max", "2")
    assert result.code == 1
    assert result.stderr.startswith("error: VALIDATION_ERROR: ")
    assert "rating_max" in result.stderr
