"""What every command shares: the settings, running a use case on a shop, output, errors.

Nothing here knows a domain rule: commands parse arguments, build a command with
``structure``, call one use case through :meth:`CliState.run`, and print the result.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import click

from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.extras import MissingExtra
from bookshop_core.errors import DomainError, ValidationError
from bookshop_examples.settings import AppSettings

__all__ = [
    "BookshopGroup",
    "CliState",
    "echo_json",
    "json_option",
    "print_domain_error",
    "redact_url",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen
class CliState:
    """The global options, handed to every command as ``ctx.obj``.

    Args:
        settings: From the environment (:meth:`AppSettings.from_env`), with the command line's
            ``--database-url`` applied.
    """

    settings: AppSettings

    @property
    def database_url(self) -> str:
        """The store the commands act on."""
        return self.settings.database_url

    def run(self, action: Callable[[Shop], Awaitable[T]], *, migrate: bool = False) -> T:
        """Open the shop, run ``action`` on it in a fresh event loop, and close it.

        Raises:
            click.BadParameter: the database URL names no supported store.
        """
        return asyncio.run(self._run(action, migrate=migrate))

    async def _run(self, action: Callable[[Shop], Awaitable[T]], *, migrate: bool) -> T:
        try:
            shop = await build_shop(
                self.database_url,
                settings=self.settings.shop_settings(),
                mailer=self.settings.mailer(),
                migrate=migrate,
            )
        except ValueError as exc:  # the composition root refuses unknown URL schemes
            raise click.BadParameter(str(exc), param_hint="'--database-url'") from None
        async with shop:
            return await action(shop)


def print_domain_error(exc: DomainError) -> None:
    """``error: CODE: message`` on stderr (``error: CODE: field: message`` for a value a rule
    refused), then each bad field of a multi-field validation."""
    where = f"{exc.field}: " if isinstance(exc, ValidationError) and exc.rule else ""
    click.echo(f"error: {exc.code}: {where}{exc.message}", err=True)
    if isinstance(exc, ValidationError) and len(exc.errors) > 1:
        for error in exc.errors:
            where = ".".join(str(part) for part in error.loc) or "(input)"
            click.echo(f"  {where}: {error.msg}", err=True)


class BookshopGroup(click.Group):
    """The root group: turns every :class:`DomainError`, and a missing optional dependency,
    into one clean line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            print_domain_error(exc)
            raise click.exceptions.Exit(1) from None
        except MissingExtra as exc:  # one line naming the extra to install, no traceback
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(1) from None


def json_option(func: F) -> F:
    """The ``--json`` flag of read commands: print the result as JSON instead of text."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the result as JSON (unstructured)."
    )(func)


def echo_json(data: object) -> None:
    """Print JSON-ready data, indented, keeping non-ASCII text readable."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit to print."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
