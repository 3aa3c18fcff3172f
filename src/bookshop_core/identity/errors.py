"""Every error code of the identity context, declared once (see :mod:`bookshop_core.errors`)."""

from __future__ import annotations

from bookshop_core.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
)

__all__ = [
    "AccountDeactivated",
    "CannotDeactivateAdmin",
    "EmailConflict",
    "GoogleTokenInvalid",
    "InvalidCredentials",
    "LastAdmin",
    "OAuthAlreadyLinked",
    "OAuthEmailUnverified",
    "OAuthFailed",
    "OAuthNoEmail",
    "OAuthNotConfigured",
    "RefreshInvalid",
    "TokenExpired",
    "TokenInvalid",
    "TokenReuse",
    "TooManyAttempts",
    "UserInactive",
    "UserInactiveForAdmin",
    "UserNotFound",
]


class InvalidCredentials(AuthenticationError):
    """Unknown email, wrong password or a password-less (OAuth-only) account: one answer."""

    code = "AUTH_INVALID_CREDENTIALS"
    default_message = "Invalid email or password"


class TokenInvalid(AuthenticationError):
    """An access token that is malformed, forged, of the wrong type or revoked."""

    code = "AUTH_TOKEN_INVALID"
    default_message = "Invalid token"


class TokenExpired(AuthenticationError):
    """An access token past its ``exp``."""

    code = "AUTH_TOKEN_EXPIRED"
    default_message = "Token expired"


class RefreshInvalid(AuthenticationError):
    """A refresh token that is unknown, expired or revoked."""

    code = "AUTH_REFRESH_INVALID"
    default_message = "The refresh token is invalid or expired"


class TokenReuse(AuthenticationError):
    """A spent refresh token was presented again: its whole family is now revoked."""

    code = "AUTH_TOKEN_REUSE"
    default_message = "This refresh token was already used; the session has been revoked"


class UserInactive(AuthenticationError):
    """A token or sign-in for a deactivated account."""

    code = "AUTH_USER_INACTIVE"
    default_message = "This account is deactivated"


class OAuthFailed(AuthenticationError):
    """The provider round trip failed: bad state, code, token or answer."""

    code = "AUTH_OAUTH_FAILED"
    default_message = "OAuth sign-in failed"


class OAuthNoEmail(AuthenticationError):
    """The provider shared no usable email address."""

    code = "AUTH_OAUTH_NO_EMAIL"
    default_message = "The provider did not share an email address"


class OAuthEmailUnverified(AuthenticationError):
    """The provider has not verified the email that would link an existing account."""

    code = "AUTH_OAUTH_EMAIL_UNVERIFIED"
    default_message = "The provider has not verified this email address"


class GoogleTokenInvalid(AuthenticationError):
    """A Google ID token that does not verify."""

    code = "AUTH_GOOGLE_INVALID_TOKEN"
    default_message = "Invalid Google ID token"


class OAuthNotConfigured(Unavailable):
    """The shop offers no such OAuth provider (a configuration error of the operator)."""

    code = "AUTH_OAUTH_NOT_CONFIGURED"
    default_message = "This OAuth provider is not configured"
    http_status = 500


class AccountDeactivated(PermissionDenied):
    """A correct password for a deactivated account."""

    code = "AUTH_ACCOUNT_DEACTIVATED"
    default_message = "This account is deactivated"


class CannotDeactivateAdmin(PermissionDenied):
    """Admins are demoted before they can be deactivated."""

    code = "ADMN_CANNOT_DEACTIVATE_ADMIN"
    default_message = "Admin accounts cannot be deactivated; demote the account first"
    default_field = "user_id"


class UserNotFound(NotFound):
    """No user with that id."""

    code = "USER_NOT_FOUND"
    default_message = "User not found"
    default_field = "user_id"


class EmailConflict(Conflict):
    """An account with this email (case-insensitively) exists."""

    code = "AUTH_EMAIL_CONFLICT"
    default_message = "An account with this email already exists"
    default_field = "email"


class OAuthAlreadyLinked(Conflict):
    """This provider identity is linked to an account already."""

    code = "AUTH_OAUTH_ALREADY_LINKED"
    default_message = "This provider identity is already linked to an account"


class LastAdmin(Conflict):
    """Nobody demotes themselves or the last admin."""

    code = "ADMN_LAST_ADMIN"
    default_message = "The shop must keep at least one admin"
    default_field = "role"


class UserInactiveForAdmin(Conflict):
    """A deactivated account cannot become an admin; reactivate it first."""

    code = "ADMN_USER_INACTIVE"
    default_message = "A deactivated account cannot become an admin; reactivate it first"
    default_field = "user_id"


class TooManyAttempts(RateLimited):
    """Too many failed sign-ins for this email; ``details['retry_after']`` in seconds."""

    code = "AUTH_TOO_MANY_ATTEMPTS"
    default_message = "Too many failed sign-in attempts; try again later"
