"""Who acts: a user id and a role, and the one authorization check admin use cases share."""

from __future__ import annotations

import enum

from attrs import frozen

from bookshop_core.errors import Forbidden

__all__ = ["Principal", "Role", "require_admin"]


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


@frozen
class Principal:
    """The caller of a use case, as established by the frontend (from the account, not a token).

    ``SYSTEM`` is for operator tooling (CLI, migrations, seeding) acting on its own authority.
    """

    user_id: int
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def system(cls) -> Principal:
        """The operator acting from a trusted console (id 0 never names a stored user)."""
        return cls(user_id=0, role=Role.ADMIN)


def require_admin(principal: Principal | None) -> Principal:
    """Let admins through; everyone else gets ``AUTH_FORBIDDEN``.

    Raises:
        PermissionDenied: the principal is missing or not an admin.
    """
    if principal is None or not principal.is_admin:
        raise Forbidden()
    return principal
