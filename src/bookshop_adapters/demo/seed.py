"""Seed a shop with the bundled demo catalog (``books.csv`` beside this module).

Usage::

    async with build_shop("sqlite+aiosqlite:///shop.db", migrate=True) as shop:
        report = await seed_demo(shop)

Seeding is idempotent: a catalog that already has books is left alone.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from importlib.resources import files

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.commands import ListBooks
from bookshop_core.catalog.importing import ImportReport
from bookshop_core.kernel.principal import Principal

__all__ = ["DEMO_BOOKS_RESOURCE", "demo_rows", "seed_demo"]

#: The bundled demo catalog, a resource of this package, in the ``import_books`` CSV format.
DEMO_BOOKS_RESOURCE = "books.csv"

_log = logging.getLogger(__name__)


def demo_rows() -> list[dict[str, str]]:
    """The rows of the bundled demo catalog, as ``csv.DictReader`` reads them.

    Returns:
        One dict per book, keyed by the CSV header (``title``, ``author``, ``price``, ...).
    """
    resource = files(__package__ or "bookshop_adapters.demo").joinpath(DEMO_BOOKS_RESOURCE)
    text = resource.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def seed_demo(
    shop: Shop, *, progress: Callable[[int], None] | None = None
) -> ImportReport | None:
    """Import the demo catalog into an empty shop, all or nothing, as the system operator.

    Args:
        shop: The shop to seed (its schema must exist: migrate first).
        progress: Called with the number of books written by each batch.

    Returns:
        The import report, or ``None`` when the catalog already had books and nothing was done.
        A report with errors (``committed=False``) means the bundled file is broken.
    """
    existing = await shop.catalog.list_books(ListBooks(size=1))
    if existing.total:
        _log.info("catalog already has %d books; demo data not seeded", existing.total)
        return None
    report = await shop.catalog.import_books(Principal.system(), demo_rows(), progress=progress)
    _log.info(
        "demo data seeded: %d books, %d genres created", report.imported, report.genres_created
    )
    return report
