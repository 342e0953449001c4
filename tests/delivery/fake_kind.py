"""A channel kind from outside the registry's own modules: how slack, email, statuspage and
pagerduty plug in (a module with `KIND`), and a channel the engine tests can script."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import SecretStr

from warroom.delivery.channel import (
    Channel,
    Delivered,
    DeliveryError,
    Lifecycle,
    Outgoing,
    Request,
)
from warroom.delivery.config import ChannelConfig, ChannelKind, EnvName, HttpEndpoint


class FakeConfig(ChannelConfig):
    kind: Literal["fake"]
    api_url: HttpEndpoint = "http://127.0.0.1:9/api"
    token: SecretStr | None = None
    token_env: EnvName | None = None
    pace: float = 1.0


class Scripted(Channel):
    """Remembers what it was sent (its own "remote"), answers `find` from that memory, and
    runs `before_send` first, which may raise or block."""

    kind: ClassVar[str] = "fake"

    def __init__(
        self,
        name: str,
        *,
        token: str = "",
        audiences: frozenset[str] = frozenset({"internal"}),
        on: frozenset[Lifecycle] = frozenset({"declared"}),
        pace: float = 0.0,
    ) -> None:
        super().__init__(name, audiences=audiences, on=on, pace=pace)
        self.token = token
        self.remote: dict[str, Outgoing] = {}
        self.sends: list[str] = []
        self.finds: list[str] = []
        self.before_send: Callable[[Outgoing], None] | None = None
        self.find_error: DeliveryError | None = None
        self.lock = threading.Lock()

    def requests(self, out: Outgoing) -> list[Request]:
        return [Request("POST", "http://fake/post", {"X-Key": out.idempotency_key}, out.text)]

    def send(self, out: Outgoing) -> Delivered:
        if self.before_send is not None:
            self.before_send(out)
        with self.lock:
            self.sends.append(out.event.id)
            self.remote.setdefault(out.event.id, out)
        return Delivered(out.event.id, f"ts-{len(self.sends)}", "https://fake/p", {"root": "x"})

    def find(self, out: Outgoing) -> Delivered | None:
        with self.lock:
            self.finds.append(out.event.id)
        if self.find_error is not None:
            raise self.find_error
        return Delivered(out.event.id, "found") if out.event.id in self.remote else None

    def test(self) -> Delivered:
        return Delivered("test", "ok")


def _build(name: str, config: FakeConfig) -> Scripted:
    token = config.resolve_secret("token")
    return Scripted(name, token=token or "", **config.channel_args())


KIND = ChannelKind(config=FakeConfig, build=_build)
