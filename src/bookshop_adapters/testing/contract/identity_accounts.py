"""Identity contract, accounts and sign-in: registration, login, throttling, rehash, OAuth.

The fixtures come from ``bookshop_adapters.testing.pytest_plugin``: ``shop`` (fast test
hasher, test JWT secret), ``make_shop`` (more shops on the same store, with other settings),
``clock``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bookshop_adapters import Shop
from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.testing.identity import (
    TEST_PASSWORD,
    fast_password_hasher,
    fixed_token_codec,
    sign_up,
)
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core import (
    AuthenticationError,
    Conflict,
    ManualClock,
    NotFound,
    PermissionDenied,
    RateLimited,
    Role,
    Transactions,
    ValidationError,
    structure,
)
from bookshop_core.identity import (
    Identity,
    IdentitySettings,
    Login,
    LoginThrottling,
    OAuthUserInfo,
    Register,
)

__all__ = ["IdentityAccountContract"]


class CountingHasher:
    """Wraps a hasher and counts verifications (to show login does the same work always)."""

    def __init__(self) -> None:
        self.inner = fast_password_hasher()
        self.verified = 0

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return await self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


async def _stored_hash(shop: Shop, email: str) -> str | None:
    async with shop.unit_of_work(read_only=True) as uow:
        user = await uow.users.get_by_email(email)
    assert user is not None
    return user.password_hash


class IdentityAccountContract:
    """Accounts and sign-in: registration, password policy, login, throttling, rehash,
    operators, external sign-in."""

    # -- registration -------------------------------------------------------------------------

    async def test_register_opens_a_user_account_and_signs_it_in(self, shop: Shop) -> None:
        """A registered account is an active plain user; its access token authenticates it."""
        pair = await shop.identity.register(
            Register(email="Alice@Example.com", password=TEST_PASSWORD)
        )
        assert pair.token_type == "bearer"
        principal = await shop.identity.authenticate(pair.access_token)
        me = await shop.identity.me(principal)
        assert (me.email, me.role, me.is_active) == ("alice@example.com", Role.USER, True)
        assert principal.role is Role.USER

    async def test_passwords_are_stored_only_as_argon2id_hashes(self, shop: Shop) -> None:
        """The store holds an argon2id PHC string, never the password."""
        await shop.identity.register(Register(email="a@example.com", password=TEST_PASSWORD))
        stored = await _stored_hash(shop, "a@example.com")
        assert stored is not None
        assert stored.startswith("$argon2id$")
        assert TEST_PASSWORD not in stored

    @pytest.mark.parametrize(
        "again", ["alice@example.com", "ALICE@EXAMPLE.COM", " Alice@example.com "]
    )
    async def test_email_is_unique_case_insensitively(self, shop: Shop, again: str) -> None:
        """A second account with the same email in any case is AUTH_EMAIL_CONFLICT on email."""
        await shop.identity.register(Register(email="Alice@example.com", password=TEST_PASSWORD))
        with pytest.raises(Conflict) as caught:
            await shop.identity.register(Register(email=again, password=TEST_PASSWORD))
        assert (caught.value.code, caught.value.field) == ("AUTH_EMAIL_CONFLICT", "email")

    async def test_concurrent_registrations_of_one_email_create_one_account(
        self, shop: Shop
    ) -> None:
        """Race-safe: of ten simultaneous registrations, exactly one wins; the rest conflict."""
        emails = ["race@example.com", "Race@Example.com"] * 5
        results = await asyncio.gather(
            *(shop.identity.register(Register(email=e, password=TEST_PASSWORD)) for e in emails),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, BaseException)]
        assert len(wins) == 1
        assert all(isinstance(r, Conflict) and r.code == "AUTH_EMAIL_CONFLICT" for r in losses)

    @pytest.mark.parametrize(
        ("password", "why"),
        [("short", "at least 8"), ("password1", "too common"), ("iloveyou", "too common")],
    )
    async def test_weak_passwords_are_validation_errors(
        self, shop: Shop, password: str, why: str
    ) -> None:
        """Weak or common passwords: VALIDATION_ERROR on field password, nothing stored."""
        with pytest.raises(ValidationError) as caught:
            await shop.identity.register(Register(email="weak@example.com", password=password))
        assert caught.value.field == "password"
        assert why in caught.value.message
        with pytest.raises(AuthenticationError):
            await shop.identity.login(Login(email="weak@example.com", password=password))

    async def test_the_shop_password_policy_applies_on_top_of_the_default(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A stricter configured policy refuses what the default accepts."""
        from bookshop_adapters.bootstrap import ShopSettings
        from bookshop_core.identity import PasswordPolicy

        settings = ShopSettings(
            identity=IdentitySettings(password_policy=PasswordPolicy(min_length=30))
        )
        async with make_shop(clock=clock, settings=settings) as strict:
            with pytest.raises(ValidationError) as caught:
                await strict.identity.register(
                    Register(email="s@example.com", password=TEST_PASSWORD)
                )
        assert caught.value.field == "password"

    async def test_registration_cannot_set_a_role(self, shop: Shop) -> None:
        """Mass assignment: a role smuggled into the input is never applied (ignored off the
        wire, refused in strict mode); the account opened is a plain user."""
        data = {"email": "eve@example.com", "password": TEST_PASSWORD, "role": "admin"}
        with pytest.raises(ValidationError) as caught:
            structure(data, Register, strict=True)
        assert caught.value.errors[0].loc == ("role",)
        pair = await shop.identity.register(structure(data, Register))
        assert (await shop.identity.authenticate(pair.access_token)).role is Role.USER

    # -- login --------------------------------------------------------------------------------

    async def test_login_with_the_right_password_opens_a_new_session(self, shop: Shop) -> None:
        """Email in any case plus the password give a fresh pair in a new refresh family."""
        principal, first = await sign_up(shop, "bob@example.com")
        pair = await shop.identity.login(Login(email="BOB@example.com", password=TEST_PASSWORD))
        assert pair.refresh_token != first.refresh_token
        assert await shop.identity.authenticate(pair.access_token) == principal

    async def test_unknown_email_wrong_password_and_oauth_only_look_the_same(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Same code, same message, and one password verification each (a dummy hash when there
        is no real one), so neither the answer nor the work reveals which accounts exist."""
        hasher = CountingHasher()
        async with make_shop(clock=clock, password_hasher=hasher) as shop:
            await sign_up(shop, "carol@example.com")
            await shop.identity.sign_in_external(
                OAuthUserInfo("github", "gh-1", "oauth@example.com", email_verified=True)
            )
            answers = []
            for email, password in [
                ("nobody@example.com", TEST_PASSWORD),
                ("carol@example.com", "wrong password here"),
                ("oauth@example.com", TEST_PASSWORD),
            ]:
                before = hasher.verified
                with pytest.raises(AuthenticationError) as caught:
                    await shop.identity.login(Login(email=email, password=password))
                answers.append((caught.value.code, caught.value.message, hasher.verified - before))
        assert answers == [("AUTH_INVALID_CREDENTIALS", "Invalid email or password", 1)] * 3

    async def test_a_deactivated_account_is_told_so_only_after_the_right_password(
        self,
        shop: Shop,
    ) -> None:
        """Wrong password: invalid credentials; right password: AUTH_ACCOUNT_DEACTIVATED (403)."""
        admin, _ = await sign_up(shop, "root@example.com", role=Role.ADMIN)
        user, _ = await sign_up(shop, "dave@example.com")
        await shop.identity.deactivate(admin, user.user_id)
        with pytest.raises(AuthenticationError) as wrong:
            await shop.identity.login(Login(email="dave@example.com", password="not the password"))
        assert wrong.value.code == "AUTH_INVALID_CREDENTIALS"
        with pytest.raises(PermissionDenied) as right:
            await shop.identity.login(Login(email="dave@example.com", password=TEST_PASSWORD))
        assert right.value.code == "AUTH_ACCOUNT_DEACTIVATED"

    async def test_repeated_failures_lock_sign_in_with_backoff(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """After 5 failures sign-in is locked 30 s (AUTH_TOO_MANY_ATTEMPTS, retry_after), even for
        the right password; the next failure doubles the lock; a success resets the counter."""
        await sign_up(shop, "erin@example.com")
        wrong = Login(email="erin@example.com", password="not the password")
        right = Login(email="erin@example.com", password=TEST_PASSWORD)
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await shop.identity.login(wrong)
        with pytest.raises(RateLimited) as locked:
            await shop.identity.login(right)
        assert locked.value.code == "AUTH_TOO_MANY_ATTEMPTS"
        assert locked.value.details == {"retry_after": 30}
        clock.advance(seconds=31)
        with pytest.raises(AuthenticationError):
            await shop.identity.login(wrong)
        with pytest.raises(RateLimited) as doubled:
            await shop.identity.login(right)
        assert doubled.value.details == {"retry_after": 60}
        clock.advance(seconds=61)
        await shop.identity.login(right)
        for _ in range(4):  # the counter started over: four failures lock nothing
            with pytest.raises(AuthenticationError):
                await shop.identity.login(wrong)
        await shop.identity.login(right)

    async def test_unknown_emails_are_throttled_the_same_way(self, shop: Shop) -> None:
        """The lock does not reveal whether an account exists."""
        ghost = Login(email="ghost@example.com", password=TEST_PASSWORD)
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await shop.identity.login(ghost)
        with pytest.raises(RateLimited):
            await shop.identity.login(ghost)

    async def test_concurrent_guesses_cannot_slip_past_the_counter(self, shop: Shop) -> None:
        """Every failure is counted and the lock is checked again before answering: of 20
        simultaneous wrong guesses, 5 are told "wrong" and the rest see the lock."""
        await sign_up(shop, "frank@example.com")
        wrong = Login(email="frank@example.com", password="not the password")
        results = await asyncio.gather(
            *(shop.identity.login(wrong) for _ in range(20)), return_exceptions=True
        )
        codes = [getattr(r, "code", None) for r in results]
        assert codes.count("AUTH_INVALID_CREDENTIALS") == 5
        assert codes.count("AUTH_TOO_MANY_ATTEMPTS") == 15

    async def test_throttling_is_configurable(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """free_failures and the lock lengths come from IdentitySettings."""
        from bookshop_adapters.bootstrap import ShopSettings

        throttling = LoginThrottling(free_failures=2, lockout=timedelta(seconds=5))
        settings = ShopSettings(identity=IdentitySettings(login_throttling=throttling))
        async with make_shop(clock=clock, settings=settings) as shop:
            ghost = Login(email="ghost@example.com", password=TEST_PASSWORD)
            for _ in range(2):
                with pytest.raises(AuthenticationError):
                    await shop.identity.login(ghost)
            with pytest.raises(RateLimited) as locked:
                await shop.identity.login(ghost)
        assert locked.value.details == {"retry_after": 5}

    async def test_login_rehashes_when_the_parameters_change(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """After the hasher's parameters change, the next successful login stores a new hash."""
        await sign_up(shop, "gina@example.com")
        old = await _stored_hash(shop, "gina@example.com")
        stronger = Argon2PasswordHasher(
            time_cost=2, memory_cost=16, parallelism=1, _allow_weak=True
        )
        identity = Identity(
            Transactions(shop.unit_of_work, shop.events),
            clock,
            hasher=stronger,
            codec=fixed_token_codec(),
        )
        with pytest.raises(AuthenticationError):
            await identity.login(Login(email="gina@example.com", password="wrong password!"))
        assert await _stored_hash(shop, "gina@example.com") == old  # only a success rehashes
        await identity.login(Login(email="gina@example.com", password=TEST_PASSWORD))
        new = await _stored_hash(shop, "gina@example.com")
        assert new != old
        assert new is not None
        assert "t=2" in new
        assert not stronger.needs_rehash(new)
        await shop.identity.login(Login(email="gina@example.com", password=TEST_PASSWORD))

    # -- operators ----------------------------------------------------------------------------

    async def test_create_admin_makes_an_admin_who_can_sign_in(self, shop: Shop) -> None:
        """The operator's create-admin: an admin account, policy applied, email unique."""
        view = await shop.identity.create_admin("Root@Example.com", TEST_PASSWORD)
        assert (view.email, view.role) == ("root@example.com", Role.ADMIN)
        pair = await shop.identity.login(Login(email="root@example.com", password=TEST_PASSWORD))
        assert (await shop.identity.authenticate(pair.access_token)).is_admin
        with pytest.raises(Conflict):
            await shop.identity.create_admin("root@example.com", TEST_PASSWORD)
        with pytest.raises(ValidationError):
            await shop.identity.create_admin("other@example.com", "password")

    async def test_demo_users_are_created_once(self, shop: Shop) -> None:
        """create_demo_users makes an admin and a customer with random passwords, idempotently."""
        from bookshop_adapters.demo.users import create_demo_users

        first = await create_demo_users(shop)
        assert first.admin.created
        assert first.customer.created
        assert first.admin.password is not None
        assert first.customer.password is not None
        admin_pair = await shop.identity.login(
            Login(email=first.admin.email, password=first.admin.password)
        )
        assert (await shop.identity.authenticate(admin_pair.access_token)).is_admin
        await shop.identity.login(
            Login(email=first.customer.email, password=first.customer.password)
        )
        again = await create_demo_users(shop)
        assert not again.admin.created
        assert again.admin.password is None

    async def test_reset_password_replaces_it_and_ends_every_session(self, shop: Shop) -> None:
        """The operator's reset: only the new password signs in, outstanding access and
        refresh tokens die, the policy refuses flatly, and an unknown email is USER_NOT_FOUND
        (nothing created)."""
        principal, before = await sign_up(shop, "ivy@example.com")
        new_password = "a brand new passphrase 42"
        view = await shop.identity.accounts.reset_password("IVY@example.com", new_password)
        assert (view.id, view.email) == (principal.user_id, "ivy@example.com")
        with pytest.raises(AuthenticationError):
            await shop.identity.login(Login(email="ivy@example.com", password=TEST_PASSWORD))
        with pytest.raises(AuthenticationError):
            await shop.identity.authenticate(before.access_token)
        with pytest.raises(AuthenticationError):
            await shop.identity.refresh(before.refresh_token)
        after = await shop.identity.login(Login(email="ivy@example.com", password=new_password))
        assert (await shop.identity.authenticate(after.access_token)).user_id == view.id
        with pytest.raises(ValidationError) as refused:
            await shop.identity.accounts.reset_password("ivy@example.com", "password1")
        assert (refused.value.rule, refused.value.field) == (True, "password")
        await shop.identity.login(Login(email="ivy@example.com", password=new_password))
        with pytest.raises(NotFound) as unknown:
            await shop.identity.accounts.reset_password("nobody@example.com", new_password)
        assert (unknown.value.code, unknown.value.field) == ("USER_NOT_FOUND", "email")
        with pytest.raises(AuthenticationError):
            await shop.identity.login(Login(email="nobody@example.com", password=new_password))

    # -- OAuth sign-in ------------------------------------------------------------------------

    async def test_external_sign_in_creates_then_finds_the_account(self, shop: Shop) -> None:
        """A first verified sign-in creates a passwordless account; later ones find it by
        (provider, subject), even when the provider's email changed."""
        info = OAuthUserInfo(
            "github", "gh-42", "Hugo@Example.com", email_verified=True, name="Hugo"
        )
        first = await shop.identity.sign_in_external(info)
        principal = await shop.identity.authenticate(first.access_token)
        me = await shop.identity.me(principal)
        assert (me.email, me.full_name, me.role) == ("hugo@example.com", "Hugo", Role.USER)
        moved = OAuthUserInfo("github", "gh-42", "new@example.com", email_verified=False)
        again = await shop.identity.sign_in_external(moved)
        assert await shop.identity.authenticate(again.access_token) == principal

    async def test_external_sign_in_links_a_local_account_only_for_a_verified_email(
        self,
        shop: Shop,
    ) -> None:
        """An unverified email never reaches an existing account; a verified one links to it."""
        local, _ = await sign_up(shop, "ivy@example.com")
        with pytest.raises(AuthenticationError) as unverified:
            await shop.identity.sign_in_external(
                OAuthUserInfo("google", "g-1", "ivy@example.com", email_verified=False)
            )
        assert unverified.value.code == "AUTH_OAUTH_EMAIL_UNVERIFIED"
        pair = await shop.identity.sign_in_external(
            OAuthUserInfo("google", "g-1", "IVY@example.com", email_verified=True)
        )
        assert await shop.identity.authenticate(pair.access_token) == local
        await shop.identity.login(Login(email="ivy@example.com", password=TEST_PASSWORD))

    async def test_external_sign_in_without_a_usable_email_creates_nothing(
        self, shop: Shop
    ) -> None:
        """No email, or an unverified one, for a first sign-in: refused, no account created."""
        admin, _ = await sign_up(shop, "root@example.com", role=Role.ADMIN)
        for info, code in [
            (OAuthUserInfo("github", "gh-7", None, email_verified=False), "AUTH_OAUTH_NO_EMAIL"),
            (OAuthUserInfo("github", "gh-7", "", email_verified=True), "AUTH_OAUTH_NO_EMAIL"),
            (
                OAuthUserInfo("github", "gh-7", "j@example.com", email_verified=False),
                "AUTH_OAUTH_EMAIL_UNVERIFIED",
            ),
            (
                OAuthUserInfo("github", "gh-7", "not an email", email_verified=True),
                "AUTH_OAUTH_NO_EMAIL",
            ),
            (
                OAuthUserInfo("github", "", "j@example.com", email_verified=True),
                "AUTH_OAUTH_FAILED",
            ),
        ]:
            with pytest.raises(AuthenticationError) as caught:
                await shop.identity.sign_in_external(info)
            assert caught.value.code == code
        assert (await shop.identity.list_users(admin)).total == 1

    async def test_external_sign_in_of_a_deactivated_account_is_refused(self, shop: Shop) -> None:
        """AUTH_USER_INACTIVE, by link or by email."""
        admin, _ = await sign_up(shop, "root@example.com", role=Role.ADMIN)
        info = OAuthUserInfo("github", "gh-9", "kim@example.com", email_verified=True)
        pair = await shop.identity.sign_in_external(info)
        kim = await shop.identity.authenticate(pair.access_token)
        await shop.identity.deactivate(admin, kim.user_id)
        with pytest.raises(AuthenticationError) as caught:
            await shop.identity.sign_in_external(info)
        assert caught.value.code == "AUTH_USER_INACTIVE"

    async def test_concurrent_first_external_sign_ins_make_one_account(self, shop: Shop) -> None:
        """Two simultaneous first sign-ins of one identity both succeed, on one account."""
        info = OAuthUserInfo("google", "g-77", "leo@example.com", email_verified=True)
        pairs = await asyncio.gather(*(shop.identity.sign_in_external(info) for _ in range(5)))
        principals = {await shop.identity.authenticate(p.access_token) for p in pairs}
        assert len(principals) == 1
