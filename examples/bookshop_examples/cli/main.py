"""The ``bookshop`` operator command: schema, demo data, the HTTP server, and catalog admin.

Every write acts as :meth:`Principal.system` (the operator at a trusted console). Domain errors
print as one line, ``error: CODE: message``, with exit code 1; usage errors exit with 2.

Examples::

    bookshop migrate
    bookshop seed-demo
    bookshop serve --port 8000
    bookshop import-books books.csv --partial
    bookshop genre add "Science Fiction" --parent 1
    bookshop book list --in-stock --sort price --json
    bookshop stock adjust 7 -2
    bookshop search "tolkien -hobbit" --in-stock
    bookshop outbox worker
    bookshop orders ship 42
    bookshop report sales --period week --tz Europe/Berlin
"""

from __future__ import annotations

import os

import attrs
import click

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.demo import DemoUsers, create_demo_users, reset_demo_passwords
from bookshop_adapters.demo import seed_demo as seed_demo_catalog
from bookshop_adapters.extras import MissingExtra
from bookshop_core.catalog.importing import ImportReport
from bookshop_examples.cli._support import BookshopGroup, CliState, redact_url
from bookshop_examples.cli.catalog import book, genre, import_books, stock
from bookshop_examples.cli.identity import create_admin
from bookshop_examples.cli.orders import orders
from bookshop_examples.cli.outbox import outbox
from bookshop_examples.cli.report import report
from bookshop_examples.cli.reviews import reviews
from bookshop_examples.cli.search import search, search_reindex
from bookshop_examples.settings import DEFAULT_DATABASE_URL, AppSettings

__all__ = ["main"]

#: The HTTP app ``serve`` runs, as an import string for uvicorn's app factory.
HTTP_APP = "bookshop_examples.http.app:create_app"

# ``serve``'s protection against stalled connections (bookshop_examples.http.server).
#: Seconds from connecting (or from the previous response) to a complete request head.
DEFAULT_HEAD_TIMEOUT = 20.0
#: The longest silence, in seconds, while a request body arrives.
DEFAULT_BODY_TIMEOUT = 30.0
#: Seconds an idle keep-alive connection is kept (uvicorn's own default).
DEFAULT_KEEP_ALIVE_TIMEOUT = 5
#: Connections and requests served at once; past it uvicorn answers 503.
DEFAULT_LIMIT_CONCURRENCY = 1024


@click.group(cls=BookshopGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    default=None,
    show_default=f"$BOOKSHOP_DATABASE_URL, else {DEFAULT_DATABASE_URL}",
    help="The shop's store: memory://, sqlite+aiosqlite:///PATH or postgresql+asyncpg://...",
)
@click.version_option(package_name="bookshop")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Operate a bookshop: migrate its database, seed it, serve it, manage its catalog.

    Configured by the BOOKSHOP_* environment variables (see bookshop_examples.settings);
    --database-url overrides BOOKSHOP_DATABASE_URL.
    """
    try:
        settings = AppSettings.from_env()
    except ValueError as exc:  # a malformed BOOKSHOP_* variable: one line naming it
        raise click.ClickException(str(exc)) from None
    if database_url is not None:
        settings = attrs.evolve(settings, database_url=database_url)
    ctx.obj = CliState(settings=settings)


# -- operations -----------------------------------------------------------------------------


@main.command()
@click.pass_obj
def migrate(state: CliState) -> None:
    """Create or upgrade the database schema.

    Runs the Alembic migrations up to head; memory:// has nothing to migrate.
    """

    async def run(shop: Shop) -> str:
        return shop.backend.dialect_name

    dialect = state.run(run, migrate=True)
    if dialect == "memory":
        click.echo("memory:// keeps no schema; nothing to migrate.")
    else:
        click.echo(f"Database schema is up to date ({redact_url(state.database_url)}).")


@main.command("seed-demo")
@click.option(
    "--reset-passwords",
    is_flag=True,
    help="Give the demo admin and customer new random passwords and print them (signing "
    "them out everywhere); the catalog is left as it is.",
)
@click.pass_obj
def seed_demo(state: CliState, reset_passwords: bool) -> None:
    """Fill an empty catalog with the demo books and create a demo admin and customer.

    Does nothing (and says so) for a catalog that already has books or accounts that exist;
    the passwords of new demo accounts are random and printed once. Lost them? Run it again
    with --reset-passwords.
    """
    if reset_passwords:

        async def reset(shop: Shop) -> DemoUsers:
            return await reset_demo_passwords(shop)

        _echo_credentials(state.run(reset))
        return

    async def run(shop: Shop) -> tuple[ImportReport | None, DemoUsers]:
        return await seed_demo_catalog(shop), await create_demo_users(shop)

    report, users = state.run(run)
    if report is None:
        click.echo("The catalog already has books; demo data not seeded.")
    elif not report.committed:  # the bundled file itself is broken: say exactly where
        for error in report.errors:
            click.echo(error.describe(), err=True)
        raise click.ClickException("the demo data has bad rows; nothing was seeded")
    else:
        click.echo(
            f"Seeded the demo catalog: {report.imported} books, {report.genres_created} genres."
        )
    _echo_credentials(users)


def _echo_credentials(users: DemoUsers) -> None:
    for account in (users.admin, users.customer):
        if account.password is not None:
            click.echo(f"Demo {account.role.value}: {account.email} / password {account.password}")
        else:
            click.echo(
                f"Demo {account.role.value} {account.email} exists already; left unchanged "
                "(new passwords: bookshop seed-demo --reset-passwords)."
            )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--reload/--no-reload", default=False, show_default=True, help="Restart on code changes."
)
@click.option(
    "--head-timeout",
    default=DEFAULT_HEAD_TIMEOUT,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a connection has to send a whole request head (line and headers); "
    "a connection that takes longer is closed.",
)
@click.option(
    "--body-timeout",
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Longest silence, in seconds, while a request body arrives; then the connection "
    "is closed.",
)
@click.option(
    "--keep-alive-timeout",
    default=DEFAULT_KEEP_ALIVE_TIMEOUT,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds an idle keep-alive connection is kept open.",
)
@click.option(
    "--limit-concurrency",
    default=DEFAULT_LIMIT_CONCURRENCY,
    show_default=True,
    type=click.IntRange(min=1),
    help="Connections and requests served at once; past it the server answers 503.",
)
@click.pass_obj
def serve(
    state: CliState,
    host: str,
    port: int,
    reload: bool,
    head_timeout: float,
    body_timeout: float,
    keep_alive_timeout: int,
    limit_concurrency: int,
) -> None:
    """Serve the example HTTP API.

    Runs bookshop_examples.http.app with uvicorn (needs the http extra) on the same database,
    closing connections that stall: a request head must arrive within --head-timeout, a body
    may not pause for longer than --body-timeout.
    """
    try:
        import uvicorn

        from bookshop_examples.http.server import timed_protocol
    except ImportError as exc:
        raise MissingExtra("bookshop serve", "http", exc.name) from exc
    # The app factory reads its settings from the environment (AppSettings.from_env), which
    # reload workers inherit too: hand it the URL this command was given.
    os.environ["BOOKSHOP_DATABASE_URL"] = state.database_url
    uvicorn.run(
        HTTP_APP,
        factory=True,
        host=host,
        port=port,
        reload=reload,
        http=timed_protocol(head_timeout=head_timeout, body_timeout=body_timeout),
        timeout_keep_alive=keep_alive_timeout,
        limit_concurrency=limit_concurrency,
    )


# -- catalog administration -----------------------------------------------------------------

main.add_command(import_books)
main.add_command(genre)
main.add_command(book)
main.add_command(stock)

# -- search ---------------------------------------------------------------------------------

main.add_command(search)
main.add_command(search_reindex)

# -- identity administration ----------------------------------------------------------------

main.add_command(create_admin)

# -- queued emails --------------------------------------------------------------------------

main.add_command(outbox)

# -- orders ---------------------------------------------------------------------------------

main.add_command(orders)

# -- reports --------------------------------------------------------------------------------

main.add_command(report)

# -- review moderation ----------------------------------------------------------------------

main.add_command(reviews)
