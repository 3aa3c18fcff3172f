"""Catalog administration: ``import-books``, ``genre ...``, ``book ...`` and ``stock ...``."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.entities import Book, BookSort, Genre, GenreNode, SortDirection
from bookshop_core.catalog.importing import ImportReport
from bookshop_core.convert import structure, unstructure
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["book", "genre", "import_books", "stock"]

#: Columns a CSV row has beyond its header are reported under this name.
_EXTRA_CELLS = "(extra cells)"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _given(**values: Any) -> dict[str, Any]:
    """The options the user gave (click leaves the others ``None``), for ``structure``."""
    return {name: value for name, value in values.items() if value is not None}


# -- import-books ---------------------------------------------------------------------------


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Every data row of a UTF-8 CSV file (BOM tolerated), with the line each row ends on."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, restkey=_EXTRA_CELLS)
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise click.FileError(str(path), hint=f"not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise click.FileError(str(path), hint=f"not valid CSV: {exc}") from None
    return rows, lines


def _report_import(report: ImportReport, lines: Sequence[int], *, partial: bool) -> None:
    for error in report.errors:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in e.loc) or 'row'}: {e.msg}" for e in error.errors
        )
        click.echo(f"row {error.row} (line {lines[error.row - 1]}): {reasons}", err=True)
    click.echo(
        f"Imported {_count(report.imported, 'book')}, "
        f"rejected {_count(report.rejected, 'row')}, "
        f"created {_count(report.genres_created, 'genre')}."
    )
    if not report.errors:
        return
    if report.committed:
        click.echo(
            f"The good rows were imported; {_count(report.rejected, 'bad row')} skipped.", err=True
        )
    elif not partial:
        click.echo(
            "Nothing was imported. Fix the rows above, or re-run with --partial "
            "to import the good rows.",
            err=True,
        )


@click.command("import-books")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.pass_obj
def import_books(state: CliState, file: Path, partial: bool) -> None:
    """Import books from a CSV file.

    All or nothing unless --partial.

    Columns: title, author, price (required), isbn, genre (a path such as
    Fiction/Fantasy; missing genres are created), publish_date (YYYY-MM-DD), description,
    cover_image_url, stock_quantity. Rows are numbered from 1, the first row after the header.
    Exits with 0 only when every row was imported.
    """
    rows, lines = _read_rows(file)
    if not rows:
        click.echo(f"{file} has no data rows; nothing to import.")
        return
    with click.progressbar(
        length=len(rows), label=f"Importing {_count(len(rows), 'row')}", file=sys.stderr
    ) as bar:

        async def run(shop: Shop) -> ImportReport:
            return await shop.catalog.import_books(
                Principal.system(), rows, partial=partial, progress=bar.update
            )

        report = state.run(run)
        bar.update(len(rows) - bar.pos)  # every row was processed, written or refused
    _report_import(report, lines, partial=partial)
    if report.errors:
        raise click.exceptions.Exit(1)


# -- genres ---------------------------------------------------------------------------------


@click.group()
def genre() -> None:
    """Manage the genre taxonomy.

    A genre may have a parent genre; book filters by genre include sub-genres.
    """


def _echo_tree(nodes: Sequence[GenreNode]) -> None:
    """Print the tree depth first, indented by level; a stack, not recursion, so that a tree
    of any depth prints."""
    stack = [(node, 0) for node in reversed(nodes)]
    while stack:
        node, depth = stack.pop()
        click.echo(f"{node.id:>5}  {'  ' * depth}{node.name}")
        stack.extend((child, depth + 1) for child in reversed(node.children))


@genre.command("list")
@click.option("--flat", is_flag=True, help="List genres by name instead of as a tree.")
@json_option
@click.pass_obj
def genre_list(state: CliState, flat: bool, as_json: bool) -> None:
    """Show every genre, as a tree of sub-genres by default."""
    if flat:
        genres: list[Genre] = state.run(lambda shop: shop.catalog.list_genres())
        if as_json:
            echo_json(unstructure(genres))
        for item in [] if as_json else genres:
            parent = f"  (in {item.parent_id})" if item.parent_id is not None else ""
            click.echo(f"{item.id:>5}  {item.name}{parent}")
        return
    tree = state.run(lambda shop: shop.catalog.genre_tree())
    if as_json:
        echo_json(unstructure(list(tree)))
    else:
        _echo_tree(tree)


@genre.command("add")
@click.argument("name")
@click.option("--parent", "parent_id", type=int, help="Id of the parent genre.")
@click.pass_obj
def genre_add(state: CliState, name: str, parent_id: int | None) -> None:
    """Add a genre NAME, optionally under a parent genre."""
    command = structure(_given(name=name, parent_id=parent_id), CreateGenre)
    created = state.run(lambda shop: shop.catalog.create_genre(Principal.system(), command))
    click.echo(f"Created genre {created.id}: {created.name}")


@genre.command("rename")
@click.argument("genre_id", type=int)
@click.argument("name")
@click.pass_obj
def genre_rename(state: CliState, genre_id: int, name: str) -> None:
    """Rename genre GENRE_ID to NAME."""
    command = structure({"name": name}, UpdateGenre)
    updated = state.run(
        lambda shop: shop.catalog.update_genre(Principal.system(), genre_id, command)
    )
    click.echo(f"Renamed genre {updated.id} to {updated.name}")


@genre.command("move")
@click.argument("genre_id", type=int)
@click.option("--parent", "parent_id", type=int, help="Id of the new parent genre.")
@click.option("--top-level", is_flag=True, help="Make it a top-level genre.")
@click.pass_obj
def genre_move(state: CliState, genre_id: int, parent_id: int | None, top_level: bool) -> None:
    """Move genre GENRE_ID under another genre (--parent ID) or to the top (--top-level)."""
    if (parent_id is None) == (not top_level):
        raise click.UsageError("give exactly one of --parent ID and --top-level")
    command = structure({"parent_id": parent_id}, UpdateGenre)
    moved = state.run(lambda shop: shop.catalog.update_genre(Principal.system(), genre_id, command))
    where = f"under genre {moved.parent_id}" if moved.parent_id is not None else "to the top level"
    click.echo(f"Moved genre {moved.id} ({moved.name}) {where}")


@genre.command("delete")
@click.argument("genre_id", type=int)
@click.pass_obj
def genre_delete(state: CliState, genre_id: int) -> None:
    """Delete genre GENRE_ID (refused while books or sub-genres use it)."""
    state.run(lambda shop: shop.catalog.delete_genre(Principal.system(), genre_id))
    click.echo(f"Deleted genre {genre_id}")


# -- books ----------------------------------------------------------------------------------

#: Optional book fields ``book update --clear`` can empty.
_CLEARABLE = ("isbn", "genre_id", "description", "cover_image_url", "publish_date")


@click.group()
def book() -> None:
    """Manage books.

    New books start with 0 in stock; see the stock commands.
    """


def _echo_book(item: Book) -> None:
    for name, value in unstructure(item).items():
        click.echo(f"{name + ':':<17}{'-' if value is None else value}")


def _echo_page(page: Page[Book]) -> None:
    if page.items:
        click.echo(f"{'ID':>5}  {'PRICE':>9}  {'STOCK':>6}  TITLE / AUTHOR")
    for item in page.items:
        click.echo(
            f"{item.id:>5}  {item.price:>9.2f}  {item.stock_quantity:>6}  "
            f"{item.title} / {item.author}"
        )
    pages = max(page.total_pages, 1)
    click.echo(f"page {page.page} of {pages}, {page.total} books")


def _book_fields(func: Any) -> Any:
    """The options that describe a book, shared by ``book add`` and ``book update``."""
    options = [
        click.option("--title"),
        click.option("--author"),
        click.option("--price", help="Exact amount, e.g. 12.99."),
        click.option("--isbn", help="ISBN-10 or ISBN-13; hyphens and spaces are fine."),
        click.option("--genre-id", type=int),
        click.option("--description"),
        click.option("--cover-image-url"),
        click.option("--publish-date", help="YYYY-MM-DD."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@book.command("add")
@_book_fields
@json_option
@click.pass_obj
def book_add(state: CliState, /, as_json: bool, **fields: str | int | None) -> None:
    """Add a book; --title, --author and --price are required."""
    missing = [f"--{name}" for name in ("title", "author", "price") if fields[name] is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    command = structure(_given(**fields), CreateBook)
    created = state.run(lambda shop: shop.catalog.create_book(Principal.system(), command))
    if as_json:
        echo_json(unstructure(created))
    else:
        click.echo(f"Created book {created.id}: {created.title}")


@book.command("show")
@click.argument("book_id", type=int)
@json_option
@click.pass_obj
def book_show(state: CliState, book_id: int, as_json: bool) -> None:
    """Show book BOOK_ID."""
    found = state.run(lambda shop: shop.catalog.get_book(book_id))
    if as_json:
        echo_json(unstructure(found))
    else:
        _echo_book(found)


@book.command("update")
@click.argument("book_id", type=int)
@_book_fields
@click.option(
    "--clear",
    "cleared",
    multiple=True,
    type=click.Choice(_CLEARABLE),
    help="Empty an optional field (repeatable).",
)
@json_option
@click.pass_obj
def book_update(
    state: CliState,
    /,
    book_id: int,
    cleared: tuple[str, ...],
    as_json: bool,
    **fields: str | int | None,
) -> None:
    """Change only the given fields of book BOOK_ID."""
    data = _given(**fields)
    both = sorted(set(cleared) & set(data))
    if both:
        raise click.UsageError(f"cannot both set and clear: {', '.join(both)}")
    data.update(dict.fromkeys(cleared))
    if not data:
        raise click.UsageError("nothing to change; give at least one field option or --clear")
    command = structure(data, UpdateBook)
    updated = state.run(lambda shop: shop.catalog.update_book(Principal.system(), book_id, command))
    if as_json:
        echo_json(unstructure(updated))
    else:
        click.echo(f"Updated book {updated.id}: {updated.title}")


@book.command("delete")
@click.argument("book_id", type=int)
@click.pass_obj
def book_delete(state: CliState, book_id: int) -> None:
    """Delete book BOOK_ID."""
    state.run(lambda shop: shop.catalog.delete_book(Principal.system(), book_id))
    click.echo(f"Deleted book {book_id}")


@book.command("list")
@click.option("--genre-id", type=int, help="Only this genre and its sub-genres.")
@click.option("--author", help="Author contains this text (case-insensitive).")
@click.option("--min-price")
@click.option("--max-price")
@click.option("--in-stock", is_flag=True, default=None, help="Only books in stock.")
@click.option("--sort", type=click.Choice([s.value for s in BookSort]), help="Default: title.")
@click.option("--dir", "sort_dir", type=click.Choice([d.value for d in SortDirection]))
@click.option("--page", type=int)
@click.option("--size", type=int, help="Books per page (default 20, at most 100).")
@json_option
@click.pass_obj
def book_list(state: CliState, /, as_json: bool, **filters: str | int | bool | None) -> None:
    """List books, one page at a time, with optional filters."""
    query = structure(_given(**filters), ListBooks)
    page = state.run(lambda shop: shop.catalog.list_books(query))
    if as_json:
        echo_json(unstructure(page))
    else:
        _echo_page(page)


# -- stock ----------------------------------------------------------------------------------


@click.group()
def stock() -> None:
    """Change how many copies of a book are in stock."""


@stock.command("set")
@click.argument("book_id", type=int)
@click.argument("quantity", type=int)
@click.pass_obj
def stock_set(state: CliState, book_id: int, quantity: int) -> None:
    """Set the stock of book BOOK_ID to QUANTITY."""
    command = structure({"quantity": quantity}, SetStock)
    updated = state.run(lambda shop: shop.catalog.set_stock(Principal.system(), book_id, command))
    click.echo(f"Book {updated.id} ({updated.title}): {updated.stock_quantity} in stock")


# Negative deltas look like options to click; let them through as the DELTA argument.
@stock.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("book_id", type=int)
@click.argument("delta", type=int)
@click.pass_obj
def stock_adjust(state: CliState, book_id: int, delta: int) -> None:
    """Add DELTA copies to the stock of book BOOK_ID (negative to remove)."""
    command = structure({"delta": delta}, AdjustStock)
    updated = state.run(
        lambda shop: shop.catalog.adjust_stock(Principal.system(), book_id, command)
    )
    click.echo(f"Book {updated.id} ({updated.title}): {updated.stock_quantity} in stock")
