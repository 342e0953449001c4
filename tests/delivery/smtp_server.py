"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, STARTTLS with a throwaway CA
(trustme), AUTH required after TLS, and every message kept as it arrived."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str
    tls: bool

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default)


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = self.server.refuse.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.data_answer:
            return self.server.data_answer
        login = (
            session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        )
        with self.server.lock:
            self.server.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or b""),
                    login,
                    session.ssl is not None,
                )
            )
        return "250 2.0.0 Message accepted for delivery"


class SMTPServer:
    """`start()` it; `port`, `ca_file` for the client; `received` for what arrived."""

    def __init__(
        self,
        workdir: Path,
        *,
        username: str = "warroom",
        password: str = "s3cret-smtp-pass",
        starttls: bool = True,
        hostname: str = "127.0.0.1",
    ) -> None:
        self.username, self.password = username, password
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.data_answer = ""
        self.lock = threading.Lock()
        ca = trustme.CA()
        self.ca_file = workdir / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(hostname, "localhost").configure_cert(self._tls)
        self.starttls = starttls
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def _protocol(self) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="mx.test",
            tls_context=self._tls if self.starttls else None,
            require_starttls=self.starttls,
            auth_required=self.starttls,
            auth_require_tls=self.starttls,
            authenticator=self._authenticate,
            loop=self.loop,
        )

    def start(self) -> SMTPServer:
        self._thread.start()
        made = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(self._protocol, "127.0.0.1", 0), self.loop
        )
        self._server = made.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            server = self._server

            async def close() -> None:
                server.close()
                await server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
