"""A dispatcher in a process of its own, for the multi-process outbox tests.

    python -m tests.adapters.outbox_process URL SMTP_PORT drain   # dispatch until none is due
    python -m tests.adapters.outbox_process URL SMTP_PORT hang    # claim a batch, then hang

``drain`` sends through the SMTP server on ``127.0.0.1:SMTP_PORT`` in passes of 10 until no
message is pending or being sent (by any process); ``hang`` claims up to 50 messages with a
short lease, prints ``claimed N`` and waits to be killed (a dispatcher dying mid-claim).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.mail import JinjaRenderer, MailTemplateSettings, SmtpMailer, SmtpSettings
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import ListOutbox, OutboxSettings, OutboxStatus

#: Short, so that the hanging process's claim expires soon after it is killed.
LEASE = timedelta(seconds=2)


async def main(url: str, port: int, mode: str) -> None:
    mailer = SmtpMailer(
        SmtpSettings(
            sender="Bookshop <shop@books.example>",
            host="127.0.0.1",
            port=port,
            security="none",
            timeout=30.0,
        )
    )
    renderer = JinjaRenderer(MailTemplateSettings(base_url="https://books.example"))
    settings = ShopSettings(outbox=OutboxSettings(batch_size=10, lease=LEASE))
    async with build_shop(url, settings=settings, mailer=mailer, renderer=renderer) as shop:
        if mode == "hang":
            async with shop.unit_of_work() as uow:
                claimed = await uow.outbox.claim(50, now=shop.clock.now(), lease=LEASE)
                await uow.commit()
            print(f"claimed {len(claimed)}", flush=True)
            await asyncio.Event().wait()
        for _ in range(10_000):  # bounded: a bug must fail the test, not hang it
            if not (await shop.dispatcher.dispatch_pending()).claimed:
                if not await _unfinished(shop):
                    break
                await asyncio.sleep(0.05)  # another process's claim is in flight, or expiring
        else:
            raise SystemExit("messages were still due after 10,000 passes")
    print("done", flush=True)


async def _unfinished(shop: Shop) -> int:
    """How many messages are still pending or being sent (by anyone)."""
    total = 0
    for status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        page = await shop.outbox.list_messages(Principal.system(), ListOutbox(status=status))
        total += page.total
    return total


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
