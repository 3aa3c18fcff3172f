"""A mailer that keeps what it is given: for tests, demos and development shops."""

from __future__ import annotations

from collections.abc import Callable

from bookshop_core.errors import DomainError
from bookshop_core.notifications.errors import MailUnavailable
from bookshop_core.notifications.messages import EmailMessage

__all__ = ["MemoryMailer"]


class MemoryMailer:
    """Records every email it accepts, in order (implements :class:`~bookshop_core.Mailer`).

    Tests read :attr:`sent`; :meth:`fail_next` makes the next sends fail as a mail server that
    is down would, so that retries can be tested without a network::

        mailer = MemoryMailer()
        mailer.fail_next(2)            # two MAIL_UNAVAILABLE, then it accepts again
        await dispatcher.dispatch_pending()
        assert mailer.attempts == 3 and len(mailer.sent) == 1

    Args:
        fail_next: How many sends fail before the first one succeeds (see :meth:`fail_next`).
    """

    def __init__(self, *, fail_next: int = 0) -> None:
        #: Every accepted message, in the order accepted (a message sent twice is here twice).
        self.sent: list[EmailMessage] = []
        #: How many times :meth:`send` was called, failed calls included.
        self.attempts = 0
        self._failures = 0
        self._error: Callable[[], DomainError] = _unavailable
        self.fail_next(fail_next)

    def fail_next(self, count: int, error: Callable[[], DomainError] | None = None) -> None:
        """Make the next ``count`` sends fail (replacing any failures still pending).

        Args:
            count: How many sends fail; 0 makes every send succeed again.
            error: Builds the error each failing send raises (default: a
                :class:`~bookshop_core.MailUnavailable`; pass ``lambda: MailRejected()`` for a
                permanent refusal).

        Raises:
            ValueError: a negative ``count``.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        self._failures = count
        self._error = error or _unavailable

    async def send(self, message: EmailMessage) -> None:
        """Record ``message``, or fail if a failure is pending.

        Raises:
            MailUnavailable: a failure injected with :meth:`fail_next` (or the error given
                there); the message is not recorded.
        """
        # No await below: concurrent sends cannot interleave inside this method.
        self.attempts += 1
        if self._failures:
            self._failures -= 1
            raise self._error()
        self.sent.append(message)

    def sent_to(self, address: str) -> list[EmailMessage]:
        """The accepted messages addressed to ``address`` (compared case-insensitively)."""
        wanted = address.casefold()
        return [m for m in self.sent if any(to.casefold() == wanted for to in m.to)]

    def clear(self) -> None:
        """Forget every recorded message and the attempt count (pending failures stay)."""
        self.sent.clear()
        self.attempts = 0


def _unavailable() -> DomainError:
    return MailUnavailable("The mail server is down (injected by MemoryMailer.fail_next)")
