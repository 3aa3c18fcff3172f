"""The demo payment gateway that ships with the library.

It approves every charge unless the checkout asked it to decline
(``Checkout(force_payment_failure=True)``; the HTTP example's ``force_payment_failure``), and
remembers its charges in process memory so that ``find`` can settle an order left pending by
a crash in the same process. Plug a real provider in by implementing
:class:`~bookshop_core.commerce.ports.PaymentGateway` and passing it to
``build_shop(payment_gateway=...)`` (see the commerce guide).
"""

from __future__ import annotations

import secrets

from bookshop_core.commerce.ports import PaymentRequest, PaymentResult

__all__ = ["DemoPaymentGateway"]


class DemoPaymentGateway:
    """Approves, or declines when asked; charges each order at most once."""

    def __init__(self) -> None:
        self._charges: dict[int, PaymentResult] = {}

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        """Approve (a fresh ``demo_...`` reference) unless ``request.force_failure``; a
        second charge of the same order returns the first outcome."""
        earlier = self._charges.get(request.order_id)
        if earlier is not None:
            return earlier
        if request.force_failure:
            result = PaymentResult.decline("The payment was declined (demo gateway, on request)")
        else:
            result = PaymentResult.approve(f"demo_{secrets.token_hex(8)}")
        self._charges[request.order_id] = result
        return result

    async def find(self, order_id: int) -> PaymentResult | None:
        """The outcome of the order's charge in this process, if it was charged."""
        return self._charges.get(order_id)
