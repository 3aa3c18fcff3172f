"""Values of the listing filters as SQL parameters, shared by the catalog listing and the
search so that both read ``author`` and a price range the same way."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

__all__ = ["LIKE_ESCAPE", "cents_at_least", "cents_at_most", "like_literal"]

#: The escape character of ``LIKE`` patterns (``author`` is matched literally).
LIKE_ESCAPE: Final = "/"


def like_literal(text: str) -> str:
    """``text`` with ``LIKE``'s wildcards (and the escape character) escaped.

    Args:
        text: What must match literally, e.g. inside ``contains(..., escape=LIKE_ESCAPE)``.

    Returns:
        The escaped text.
    """
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def cents_at_least(amount: Decimal) -> int:
    """The smallest whole number of cents >= ``amount`` (exact for any Decimal): a minimum
    price as an inclusive bound on ``price_cents``."""
    return math.ceil(amount * 100)


def cents_at_most(amount: Decimal) -> int:
    """The largest whole number of cents <= ``amount``: a maximum price as an inclusive bound
    on ``price_cents``."""
    return math.floor(amount * 100)
