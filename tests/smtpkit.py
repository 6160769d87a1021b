"""A local SMTP server for the reminder tests (aiosmtpd on 127.0.0.1, a free port).

`Inbox.messages` holds every message the server accepted. With `hold_first`,
the first DATA waits until the test calls `release()`, then is refused with
451 (not accepted): the test can kill the sender while it waits.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # the messages as they came over the wire
        self.hold_first = False
        self.arrived = threading.Event()
        self.released = threading.Event()
        self._held = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold_first and not self._held:
            self._held = True
            self.arrived.set()
            for _ in range(1200):  # at most 60 s
                if self.released.is_set():
                    break
                await asyncio.sleep(0.05)
            return "451 4.3.0 not now"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
            self.raw.append(envelope.original_content or envelope.content)
        return "250 OK"

    def release(self) -> None:
        self.released.set()

    def wait(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]) == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.release()
        controller.stop()
