"""An SMTP server inside the benchmark process that notes when each email arrives.

It keeps, per message: when it was received, the recipient, the outbox row it came from
(the `X-Undersigned-Email: <kind>-<id>` header) and the confirmation link in its text part.
Links are also appended to a file, one a line, for the load generator to follow.
"""

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import IO

from aiosmtpd.controller import Controller

CONFIRM_LINK = re.compile(r"https?://\S+/confirm/\S+/")


@dataclass(frozen=True)
class Received:
    at: float  # epoch seconds
    to: str
    kind: str
    outbox_id: int | None
    link: str | None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


@dataclass
class SmtpSink:
    links_path: Path
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _links: IO[str] | None = None
    _controller: Controller | None = None

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        at = time.time()
        # The compat32 parser is several times cheaper than policy.default, and this runs
        # on the same two cores as the server being measured.
        message = message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        kind, _, ident = str(message.get("X-Undersigned-Email", "")).rpartition("-")
        match = CONFIRM_LINK.search(_text_part(message))
        link = match.group(0) if match else None
        record = Received(
            at=at,
            to=str(message.get("To", "")),
            kind=kind,
            outbox_id=int(ident) if ident.isdigit() else None,
            link=link,
        )
        with self._lock:
            self.received.append(record)
            if link and self._links:
                self._links.write(link + "\n")
                self._links.flush()
        return "250 OK"

    def start(self) -> None:
        self._links = self.links_path.open("a", encoding="utf-8")
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None
        if self._links:
            self._links.close()
            self._links = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)
