"""Identity commands for operators: create the first admin from a trusted console."""

from __future__ import annotations

import click

from bookshop_adapters.bootstrap import Shop
from bookshop_core.identity.entities import UserView
from bookshop_examples.cli._support import CliState

__all__ = ["create_admin"]


@click.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The admin's password (prompted for, hidden, when omitted).",
)
@click.pass_obj
def create_admin(state: CliState, email: str, password: str) -> None:
    """Create an admin account (the way to get the first admin of a new shop)."""

    async def run(shop: Shop) -> UserView:
        return await shop.identity.create_admin(email, password)

    user = state.run(run)
    click.echo(f"Created admin {user.email} (id {user.id}).")
