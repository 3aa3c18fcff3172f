"""Identity contract, administration: listing users, deactivation and reactivation, roles,
the last admin, and who may do what.

The fixtures come from ``bookshop_adapters.testing.pytest_plugin``: ``shop`` (fast test
hasher, test JWT secret), ``make_shop`` (more shops on the same store, with other settings),
``clock``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import pytest_asyncio

from bookshop_adapters import Shop
from bookshop_adapters.testing.identity import TEST_PASSWORD, sign_up
from bookshop_core import (
    AuthenticationError,
    Conflict,
    DomainError,
    ManualClock,
    NotFound,
    PermissionDenied,
    Principal,
    Role,
    ValidationError,
    structure,
)
from bookshop_core.identity import ChangeRole, ListUsers, Login, TokenPair

__all__ = ["IdentityAdminContract"]


async def code_of(call: Awaitable[object]) -> str:
    with pytest.raises(DomainError) as caught:
        await call
    return caught.value.code


# -- who may do what ----------------------------------------------------------------------


AdminCall = Callable[[Shop, Principal, int], Awaitable[object]]
ADMIN_CALLS: list[tuple[str, AdminCall]] = [
    ("list_users", lambda shop, who, target: shop.identity.list_users(who)),
    ("get_user", lambda shop, who, target: shop.identity.get_user(who, target)),
    ("deactivate", lambda shop, who, target: shop.identity.deactivate(who, target)),
    ("reactivate", lambda shop, who, target: shop.identity.reactivate(who, target)),
    (
        "change_role",
        lambda shop, who, target: shop.identity.change_role(who, target, ChangeRole(Role.ADMIN)),
    ),
]


class IdentityAdminContract:
    """Administration: listing users, deactivation, roles, the last admin, who may do what."""

    @pytest_asyncio.fixture
    async def root(self, shop: Shop) -> Principal:
        """A real admin account (the first one, as an operator creates it)."""
        principal, _ = await sign_up(shop, "root@example.com", role=Role.ADMIN)
        return principal

    # -- listing ------------------------------------------------------------------------------

    async def test_list_users_is_paginated_newest_first(
        self, shop: Shop, root: Principal, clock: ManualClock
    ) -> None:
        """Newest first, with an exact total and no secrets in the items."""
        for i in range(5):
            clock.advance(seconds=1)
            await sign_up(shop, f"user{i}@example.com")
        page = await shop.identity.list_users(root, ListUsers(page=1, per_page=2))
        assert page.total == 6
        assert page.total_pages == 3
        assert [u.email for u in page.items] == ["user4@example.com", "user3@example.com"]
        last = await shop.identity.list_users(root, ListUsers(page=3, per_page=2))
        assert [u.email for u in last.items] == ["user0@example.com", "root@example.com"]
        assert not hasattr(page.items[0], "password_hash")

    async def test_list_users_filters_combine(self, shop: Shop, root: Principal) -> None:
        """role, is_active and the email search AND-combine; the search is literal."""
        a, _ = await sign_up(shop, "ann_smith@example.com")
        await sign_up(shop, "annXsmith@example.com")
        await sign_up(shop, "bob@example.org")
        await shop.identity.deactivate(root, a.user_id)

        async def emails(**filters: object) -> list[str]:
            page = await shop.identity.list_users(root, structure(filters, ListUsers))
            return sorted(u.email for u in page.items)

        assert await emails(role="admin") == ["root@example.com"]
        assert await emails(is_active=False) == ["ann_smith@example.com"]
        assert await emails(q="ANN_") == ["ann_smith@example.com"]
        assert await emails(q="%") == []
        assert await emails(q="example.com", role="user", is_active=True) == [
            "annxsmith@example.com"
        ]

    async def test_get_user_and_unknown_users(self, shop: Shop, root: Principal) -> None:
        """Admins read any account; unknown ids are USER_NOT_FOUND on user_id."""
        alice, _ = await sign_up(shop, "alice@example.com")
        assert (await shop.identity.get_user(root, alice.user_id)).email == "alice@example.com"
        for call in (
            shop.identity.get_user(root, 999_999),
            shop.identity.deactivate(root, 999_999),
            shop.identity.reactivate(root, 999_999),
            shop.identity.change_role(root, 999_999, ChangeRole(Role.ADMIN)),
        ):
            with pytest.raises(NotFound) as caught:
                await call
            assert (caught.value.code, caught.value.field) == ("USER_NOT_FOUND", "user_id")
        with pytest.raises(ValidationError):
            await shop.identity.get_user(root, 0)

    # -- deactivation -------------------------------------------------------------------------

    async def test_deactivation_kills_every_token_at_once(
        self, shop: Shop, root: Principal
    ) -> None:
        """Access tokens fail at their next use (AUTH_ACCOUNT_DEACTIVATED), refresh tokens of
        every session fail (AUTH_USER_INACTIVE); deactivation is idempotent."""
        user, first = await sign_up(shop, "gone@example.com")
        second = await shop.identity.login(Login(email="gone@example.com", password=TEST_PASSWORD))
        view = await shop.identity.deactivate(root, user.user_id)
        assert view.is_active is False
        assert (await shop.identity.deactivate(root, user.user_id)).is_active is False
        for pair in (first, second):
            assert await code_of(shop.identity.authenticate(pair.access_token)) == (
                "AUTH_ACCOUNT_DEACTIVATED"
            )
            assert await code_of(shop.identity.refresh(pair.refresh_token)) == "AUTH_USER_INACTIVE"

    async def test_reactivation_revives_no_old_token(self, shop: Shop, root: Principal) -> None:
        """After reactivation, tokens from before stay dead (even ones issued in the same
        second as the deactivation); a fresh sign-in works."""
        user, pair = await sign_up(shop, "back@example.com")
        await shop.identity.deactivate(root, user.user_id)
        view = await shop.identity.reactivate(root, user.user_id)
        assert view.is_active is True
        assert (await shop.identity.reactivate(root, user.user_id)).is_active is True
        assert await code_of(shop.identity.authenticate(pair.access_token)) == "AUTH_TOKEN_INVALID"
        assert await code_of(shop.identity.refresh(pair.refresh_token)) == "AUTH_REFRESH_INVALID"
        fresh = await shop.identity.login(Login(email="back@example.com", password=TEST_PASSWORD))
        assert await shop.identity.authenticate(fresh.access_token) == user

    async def test_admins_cannot_be_deactivated(self, shop: Shop, root: Principal) -> None:
        """ADMN_CANNOT_DEACTIVATE_ADMIN, for others and for oneself; demote first."""
        other, _ = await sign_up(shop, "other-admin@example.com", role=Role.ADMIN)
        for target in (other.user_id, root.user_id):
            with pytest.raises(PermissionDenied) as caught:
                await shop.identity.deactivate(root, target)
            assert caught.value.code == "ADMN_CANNOT_DEACTIVATE_ADMIN"
        await shop.identity.change_role(root, other.user_id, ChangeRole(Role.USER))
        assert (await shop.identity.deactivate(root, other.user_id)).is_active is False

    async def test_sign_in_racing_a_deactivation_leaves_no_live_session(
        self, shop: Shop, root: Principal
    ) -> None:
        """Whatever the interleaving, once deactivated, nothing of the user's works."""
        user, _ = await sign_up(shop, "racer@example.com")
        login = Login(email="racer@example.com", password=TEST_PASSWORD)
        results = await asyncio.gather(
            *(shop.identity.login(login) for _ in range(5)),
            shop.identity.deactivate(root, user.user_id),
            return_exceptions=True,
        )
        await shop.identity.reactivate(root, user.user_id)
        for result in results[:5]:
            if isinstance(result, TokenPair):
                assert await code_of(shop.identity.refresh(result.refresh_token)) in (
                    "AUTH_REFRESH_INVALID",
                    "AUTH_USER_INACTIVE",
                )

    # -- roles --------------------------------------------------------------------------------

    async def test_admins_promote_and_demote(self, shop: Shop, root: Principal) -> None:
        """The role changes at once for authorization (read from the account, not the token)."""
        user, pair = await sign_up(shop, "promo@example.com")
        assert (
            await shop.identity.change_role(root, user.user_id, ChangeRole(Role.ADMIN))
        ).role is (Role.ADMIN)
        assert (await shop.identity.authenticate(pair.access_token)).is_admin
        await shop.identity.change_role(root, user.user_id, ChangeRole(Role.USER))
        assert not (await shop.identity.authenticate(pair.access_token)).is_admin
        same = await shop.identity.change_role(root, user.user_id, ChangeRole(Role.USER))
        assert same.role is Role.USER

    async def test_nobody_demotes_themselves_or_the_last_admin(
        self, shop: Shop, root: Principal
    ) -> None:
        """ADMN_LAST_ADMIN for self-demotion, and for the last admin even by the operator."""
        with pytest.raises(Conflict) as caught:
            await shop.identity.change_role(root, root.user_id, ChangeRole(Role.USER))
        assert caught.value.code == "ADMN_LAST_ADMIN"
        with pytest.raises(Conflict) as last:
            await shop.identity.change_role(Principal.system(), root.user_id, ChangeRole(Role.USER))
        assert last.value.code == "ADMN_LAST_ADMIN"
        second, _ = await sign_up(shop, "second@example.com", role=Role.ADMIN)
        await shop.identity.change_role(second, root.user_id, ChangeRole(Role.USER))
        with pytest.raises(Conflict):
            await shop.identity.change_role(second, second.user_id, ChangeRole(Role.USER))

    async def test_two_admins_demoting_each_other_at_once_leave_one(
        self, shop: Shop, root: Principal
    ) -> None:
        """Under the admin lock exactly one demotion wins; the shop keeps an admin."""
        other, _ = await sign_up(shop, "rival@example.com", role=Role.ADMIN)
        results = await asyncio.gather(
            shop.identity.change_role(root, other.user_id, ChangeRole(Role.USER)),
            shop.identity.change_role(other, root.user_id, ChangeRole(Role.USER)),
            return_exceptions=True,
        )
        codes = sorted(getattr(r, "code", "ok") for r in results)
        assert codes == ["ADMN_LAST_ADMIN", "ok"]
        survivor = root if not isinstance(results[0], BaseException) else other
        admins = await shop.identity.list_users(survivor, ListUsers(role=Role.ADMIN))
        assert [u.id for u in admins.items] == [survivor.user_id]

    async def test_a_deactivated_account_cannot_be_promoted(
        self, shop: Shop, root: Principal
    ) -> None:
        """An inactive admin could never be deactivated again: promotion waits for reactivation."""
        user, _ = await sign_up(shop, "sleepy@example.com")
        await shop.identity.deactivate(root, user.user_id)
        with pytest.raises(Conflict) as caught:
            await shop.identity.change_role(root, user.user_id, ChangeRole(Role.ADMIN))
        assert caught.value.code == "ADMN_USER_INACTIVE"

    async def test_change_role_validates_the_role(self) -> None:
        """Only user and admin exist."""
        with pytest.raises(ValidationError):
            structure({"role": "owner"}, ChangeRole)

    @pytest.mark.parametrize(("name", "call"), ADMIN_CALLS, ids=[name for name, _ in ADMIN_CALLS])
    async def test_users_cannot_administer_accounts(
        self, shop: Shop, root: Principal, name: str, call: AdminCall
    ) -> None:
        """Every admin use case is AUTH_FORBIDDEN for a user, even against their own account,
        and changes nothing."""
        mallory, _ = await sign_up(shop, "mallory@example.com")
        victim, victim_pair = await sign_up(shop, "victim@example.com")
        for target in (victim.user_id, mallory.user_id):
            assert await code_of(call(shop, mallory, target)) == "AUTH_FORBIDDEN"
        assert await shop.identity.authenticate(victim_pair.access_token) == victim
        assert (await shop.identity.me(mallory)).role is Role.USER

    async def test_a_user_sees_only_their_own_account(self, shop: Shop) -> None:
        """me() answers for the caller alone; there is no way to name another account."""
        alice, alice_pair = await sign_up(shop, "alice@example.com")
        bob, bob_pair = await sign_up(shop, "bob@example.com")
        assert (await shop.identity.me(alice)).email == "alice@example.com"
        assert (await shop.identity.me(bob)).email == "bob@example.com"
        await shop.identity.logout_all(alice)
        assert await shop.identity.authenticate(bob_pair.access_token) == bob
        assert await code_of(shop.identity.authenticate(alice_pair.access_token)) == (
            "AUTH_TOKEN_INVALID"
        )

    async def test_unknown_principals(self, shop: Shop) -> None:
        """A principal naming no account gets USER_NOT_FOUND, not someone else's data."""
        ghost = Principal(user_id=424_242)
        assert await code_of(shop.identity.me(ghost)) == "USER_NOT_FOUND"
        assert await code_of(shop.identity.logout_all(ghost)) == "USER_NOT_FOUND"
        assert await code_of(shop.identity.me(Principal.system())) == "USER_NOT_FOUND"

    async def test_the_operator_principal_may_administer(self, shop: Shop) -> None:
        """Principal.system() (CLI tooling) lists and manages accounts."""
        user, _ = await sign_up(shop, "ops@example.com")
        assert (await shop.identity.list_users(Principal.system())).total == 1
        await shop.identity.deactivate(Principal.system(), user.user_id)
        with pytest.raises(AuthenticationError):
            await shop.identity.refresh("whatever")
