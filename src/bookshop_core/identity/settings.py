"""Identity configuration: token lifetimes, issuer and audience, login throttling, passwords."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from attrs import field, frozen

from bookshop_core.identity.passwords import DEFAULT_PASSWORD_POLICY, PasswordPolicy

__all__ = ["DEFAULT_ACCESS_TTL", "DEFAULT_REFRESH_TTL", "IdentitySettings", "LoginThrottling"]

#: The web client refreshes at 14 minutes without reading ``exp``: do not go below 15.
DEFAULT_ACCESS_TTL: Final = timedelta(minutes=15)
DEFAULT_REFRESH_TTL: Final = timedelta(days=30)
DEFAULT_SESSION_MAX_AGE: Final = timedelta(days=90)


def _positive(instance: object, attribute: object, value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"{getattr(attribute, 'name', 'duration')} must be a positive timedelta")


def _text(instance: object, attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be 1..255 characters")


@frozen
class LoginThrottling:
    """How repeated failed sign-ins for one email slow down.

    The first ``free_failures - 1`` consecutive failures cost nothing; from the
    ``free_failures``-th on, each failure locks sign-in for that email for ``lockout``, doubling
    with every further failure up to ``max_lockout``. A success, or ``window`` without a
    failure, starts over. Only failures count, so that correct sign-ins never lock each other
    out; every failure is counted (compare-and-set), and the lock is checked again before an
    attempt is answered, so that guesses in flight when it starts learn nothing. Emails that
    name no account are throttled the same way, so the lock tells an attacker nothing about
    which accounts exist.

    Args:
        free_failures: Consecutive failures before the first lock (>= 1).
        lockout: The first lock's length.
        max_lockout: The longest lock.
        window: Failures older than this are forgotten.
    """

    free_failures: int = 5
    lockout: timedelta = field(default=timedelta(seconds=30), validator=_positive)
    max_lockout: timedelta = field(default=timedelta(minutes=15), validator=_positive)
    window: timedelta = field(default=timedelta(minutes=15), validator=_positive)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.free_failures, bool) or not isinstance(self.free_failures, int):
            raise TypeError("free_failures must be an integer")
        if self.free_failures < 1:
            raise ValueError("free_failures must be at least 1")
        if self.max_lockout < self.lockout:
            raise ValueError("max_lockout must not be shorter than lockout")

    def lock_after(self, failures: int) -> timedelta:
        """How long sign-in stays locked after ``failures`` consecutive failures."""
        over = failures - self.free_failures
        if over < 0:
            return timedelta(0)
        if over >= 32:  # 2**32 lockouts is beyond any cap; avoid huge integers
            return self.max_lockout
        lock: timedelta = self.lockout * (2**over)
        return min(lock, self.max_lockout)


@frozen
class IdentitySettings:
    """Configuration of the identity context.

    Args:
        issuer: The ``iss`` of every access token, checked on every token.
        audience: The ``aud`` of every access token, checked on every token.
        access_ttl: Lifetime of an access token (default 15 minutes).
        refresh_ttl: Lifetime of each refresh token; rotation issues a fresh one.
        session_max_age: The longest a login (refresh family) lives, however often it is
            refreshed; after it the user signs in again.
        password_policy: What new passwords must satisfy.
        login_throttling: How repeated failed sign-ins slow down.
        display_name_from_email: Give an account registered without a display name the
            local part of its email as one (off by default: a public name never reveals an
            address unless the shop chooses so).

    Raises:
        ValueError: a non-positive duration, an empty issuer or audience, or
            ``refresh_ttl`` shorter than ``access_ttl``.
    """

    issuer: str = field(default="bookshop", validator=_text)
    audience: str = field(default="bookshop", validator=_text)
    access_ttl: timedelta = field(default=DEFAULT_ACCESS_TTL, validator=_positive)
    refresh_ttl: timedelta = field(default=DEFAULT_REFRESH_TTL, validator=_positive)
    session_max_age: timedelta = field(default=DEFAULT_SESSION_MAX_AGE, validator=_positive)
    password_policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY
    login_throttling: LoginThrottling = LoginThrottling()
    display_name_from_email: bool = False

    def __attrs_post_init__(self) -> None:
        if self.refresh_ttl < self.access_ttl:
            raise ValueError("refresh_ttl must not be shorter than access_ttl")
