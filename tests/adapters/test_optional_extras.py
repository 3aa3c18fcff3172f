"""The default SQLite shop needs only the base dependencies; OAuth and asymmetric token keys
need the ``oauth`` extra, and say so in one error naming it.

Each test runs a fresh interpreter in which httpx and cryptography cannot be imported
(``sys.modules[name] = None``), as in an install without the extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_WITHOUT_OAUTH_EXTRA = """\
import sys
for name in ("httpx", "cryptography"):
    sys.modules[name] = None
"""


def run_without_oauth_extra(body: str, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` (Python source) where the oauth extra's packages cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_OAUTH_EXTRA + textwrap.dedent(body)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_default_sqlite_shop_registers_and_signs_in_without_the_oauth_extra(
    tmp_path: Path,
) -> None:
    """A migrated SQLite shop registers, signs in and reads a token without httpx/cryptography."""
    result = run_without_oauth_extra(
        """
        import asyncio
        from bookshop_adapters import build_shop
        from bookshop_core.identity.commands import Login, Register

        async def main():
            async with build_shop("sqlite+aiosqlite:///shop.db", migrate=True) as shop:
                await shop.identity.register(
                    Register(email="reader@example.com", password="a long Passphrase 7")
                )
                pair = await shop.identity.login(
                    Login(email="reader@example.com", password="a long Passphrase 7")
                )
                principal = await shop.identity.authenticate(pair.access_token)
                print(principal.role.value)

        asyncio.run(main())
        """,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "user\n", "")


def test_a_configured_provider_without_the_oauth_extra_names_it(tmp_path: Path) -> None:
    """Settings offering GitHub sign-in, without httpx: MissingExtra naming the oauth extra."""
    result = run_without_oauth_extra(
        """
        from bookshop_adapters import ShopSettings, build_shop
        from bookshop_adapters.extras import MissingExtra
        from bookshop_adapters.oauth import OAuthProviderSettings, OAuthSettings

        github = OAuthProviderSettings.github("client-id", "client-secret")
        try:
            build_shop("memory://", settings=ShopSettings(oauth=OAuthSettings(github=github)))
        except MissingExtra as exc:
            print(exc.extra, exc, sep="\\n")
        """,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "oauth\nOAuth sign-in needs the 'oauth' extra: pip install 'bookshop[oauth]'\n"
    )


def test_an_asymmetric_token_key_without_the_oauth_extra_names_it(tmp_path: Path) -> None:
    """An RS256 codec without cryptography: MissingExtra naming the oauth extra."""
    result = run_without_oauth_extra(
        """
        from bookshop_adapters.extras import MissingExtra
        from bookshop_adapters.jwt import PyJwtTokenCodec

        try:
            PyJwtTokenCodec(algorithm="RS256", public_key="-----BEGIN PUBLIC KEY-----")
        except MissingExtra as exc:
            print(exc)
        """,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "RS256 access-token keys needs the 'oauth' extra: pip install 'bookshop[oauth]'\n"
    )


def test_cli_with_a_provider_but_no_oauth_extra_is_one_line(tmp_path: Path) -> None:
    """``bookshop`` with GitHub configured and no httpx: one line naming the extra, exit 1."""
    env = {**os.environ, "BOOKSHOP_GITHUB_CLIENT_ID": "id", "BOOKSHOP_GITHUB_CLIENT_SECRET": "s"}
    script = _WITHOUT_OAUTH_EXTRA + (
        "import runpy\n"
        "sys.argv = ['bookshop', '--database-url', 'memory://', 'book', 'list']\n"
        "runpy.run_module('bookshop_examples.cli', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: OAuth sign-in needs the 'oauth' extra: pip install 'bookshop[oauth]'\n"
    )
