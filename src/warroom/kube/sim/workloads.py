"""What the simulated container images do when they run: how long, whether they get ready, and
what they log. Log text is realistic but deterministic (a function of the line index and a
per-instance seed), so tests can assert on it and benchmarks are repeatable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .clock import SECOND
from .logs import FixedScript, LogScript, PeriodicScript

ScriptFactory = Callable[[int, int], LogScript]
"""(seed, instance start ns) -> the instance's log script."""


@dataclass(frozen=True)
class Behaviour:
    """How a container image behaves each time it is started."""

    script: ScriptFactory
    runs_for: int | None = None
    """ns until the process exits by itself; None runs until the pod is deleted."""
    exit_code: int = 0
    ready_after: int | None = SECOND
    """ns from start until the readiness probe passes; None never passes."""


def _mix(seed: int, index: int, salt: int = 0) -> int:
    """A well-spread, repeatable pseudo-random number for line `index` (splitmix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + salt) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return z ^ (z >> 31)


def _pick(seed: int, index: int, options: tuple[str, ...]) -> str:
    return options[_mix(seed, index, len(options)) % len(options)]


def _when(ns: int, fmt: str) -> str:
    return datetime.fromtimestamp(ns / SECOND, UTC).strftime(fmt)


def _iso_ms(ns: int) -> str:
    return _when(ns, "%Y-%m-%dT%H:%M:%S.") + f"{ns // 1_000_000 % 1000:03d}Z"


_PATHS = (
    "/",
    "/products",
    "/products/42",
    "/cart",
    "/api/cart",
    "/static/app.js",
    "/static/app.css",
    "/api/recommendations",
    "/healthz",
    "/search?q=boots",
)
_AGENTS = (
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15"',
    '"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0"',
    '"kube-probe/1.32"',
    '"curl/8.5.0"',
)
_STATUSES = ("200", "200", "200", "200", "304", "200", "404", "200", "200", "200")


def nginx(seed: int, started: int) -> LogScript:
    """The frontend: nginx access-log lines."""

    def render(index: int, offset: int) -> bytes:
        client = f"10.244.{_mix(seed, index, 1) % 3 + 1}.{_mix(seed, index, 2) % 250 + 2}"
        return (
            f"{client} - - [{_when(started + offset, '%d/%b/%Y:%H:%M:%S +0000')}] "
            f'"GET {_pick(seed, index, _PATHS)} HTTP/1.1" {_pick(seed, index, _STATUSES)} '
            f'{_mix(seed, index, 3) % 9000 + 200} "-" {_pick(seed, index, _AGENTS)} '
            f"rt=0.{_mix(seed, index, 4) % 90 + 3:03d}"
        ).encode()

    preamble = (
        b"/docker-entrypoint.sh: Configuration complete; ready for start up",
        b'nginx: [notice] using the "epoll" event method',
        b"nginx: [notice] start worker processes",
    )
    return PeriodicScript(preamble, SECOND // 3, render)


_ORDERS = ("ord_8f2k1", "ord_x91mz", "ord_2bq7c", "ord_k3p0d", "ord_q8w2e", "ord_77hja")


def checkout(version: str) -> ScriptFactory:
    """A healthy checkout service: structured request logs."""

    def factory(seed: int, started: int) -> LogScript:
        def render(index: int, offset: int) -> bytes:
            order = _pick(seed, index, _ORDERS)
            if index % 5 == 4:
                return (
                    f"{_iso_ms(started + offset)} INFO  checkout.cart GET /v1/cart/{order} "
                    f"status=200 duration_ms={_mix(seed, index, 5) % 40 + 4}"
                ).encode()
            return (
                f"{_iso_ms(started + offset)} INFO  checkout.api POST /v1/checkout "
                f"order={order} status=201 duration_ms={_mix(seed, index, 6) % 120 + 30}"
            ).encode()

        preamble = tuple(
            f"{_iso_ms(started + (i + 1) * SECOND // 20)} INFO  {text}".encode()
            for i, text in enumerate(
                (
                    f"checkout starting version={version} pid=1",
                    "loading config from /etc/checkout/config.yaml",
                    "listening on 0.0.0.0:8080",
                )
            )
        )
        return PeriodicScript(preamble, SECOND // 2, render)

    return factory


CRASH_TRACE = (
    "ERROR checkout.worker unhandled exception in worker, shutting down",
    "Traceback (most recent call last):",
    '  File "/app/checkout/worker.py", line 88, in run',
    "    quote = self.pricing.quote(cart)",
    '  File "/app/checkout/pricing.py", line 141, in quote',
    "    rate = self.tax_rates[cart.region]",
    "           ~~~~~~~~~~~~~~^^^^^^^^^^^^^",
    "KeyError: 'eu-west-3'",
)


def crashing_checkout(version: str, runs_for: int) -> ScriptFactory:
    """The bad release: serves a few requests with rising errors, then dies on a KeyError."""

    def factory(seed: int, started: int) -> LogScript:
        def at(offset: int, text: str) -> tuple[int, bytes]:
            return offset, f"{_iso_ms(started + offset)} {text}".encode()

        lines = [
            at(SECOND // 20, f"INFO  checkout starting version={version} pid=1"),
            at(SECOND // 10, "INFO  loading config from /etc/checkout/config.yaml"),
            at(SECOND // 10 * 2, "WARN  config: tax_rates has no entry for region eu-west-3"),
            at(SECOND // 10 * 3, "INFO  listening on 0.0.0.0:8080"),
        ]
        end = runs_for - SECOND // 10
        offset, index = SECOND, 0
        while offset < end:
            order = _pick(seed, index, _ORDERS)
            if index % 3 == 2:
                lines.append(
                    at(
                        offset,
                        f"ERROR checkout.api POST /v1/checkout order={order} "
                        "status=500 error=\"KeyError: 'eu-west-3'\"",
                    )
                )
            else:
                lines.append(
                    at(
                        offset,
                        f"INFO  checkout.api POST /v1/checkout order={order} "
                        f"status=201 duration_ms={_mix(seed, index, 6) % 90 + 40}",
                    )
                )
            offset += SECOND * 7 // 10
            index += 1
        stamp = _iso_ms(started + end)
        lines.append((end, f"{stamp} {CRASH_TRACE[0]}".encode()))
        lines.extend((end, text.encode()) for text in CRASH_TRACE[1:])
        return FixedScript(tuple(lines))

    return factory


def payments(seed: int, started: int) -> LogScript:
    """A Spring Boot payments API."""

    def render(index: int, offset: int) -> bytes:
        stamp = (
            _when(started + offset, "%Y-%m-%d %H:%M:%S.")
            + f"{(started + offset) // 1_000_000 % 1000:03d}"
        )
        charge = f"ch_{_mix(seed, index, 7) % 10**8:08d}"
        return (
            f"{stamp}  INFO 1 --- [nio-8080-exec-{index % 10 + 1}] "
            f"c.e.payments.ChargeController   : charge authorised id={charge} "
            f"amount={_mix(seed, index, 8) % 20000 / 100:.2f} currency=EUR"
        ).encode()

    preamble = (
        b"  .   ____          _            __ _ _",
        b" :: Spring Boot ::                (v3.2.4)",
        b"INFO 1 --- [main] c.e.payments.PaymentsApplication : Started PaymentsApplication "
        b"in 4.12 seconds",
    )
    return PeriodicScript(preamble, SECOND // 2, render)


def envoy(seed: int, started: int) -> LogScript:
    """A sidecar proxy's access log."""

    def render(index: int, offset: int) -> bytes:
        took = _mix(seed, index, 9) % 50 + 9
        return (
            f'[{_iso_ms(started + offset)}] "POST /v1/charge HTTP/1.1" 200 - 312 58 '
            f"{took + 1} {took} "
            f'"10.244.1.{_mix(seed, index, 2) % 200 + 2}" '
            f'"checkout/2.4.1" "{seed:08x}-{index:04x}" "payments:8080" "127.0.0.1:8080"'
        ).encode()

    return PeriodicScript(
        (b"[info] envoy started, admin listening on 127.0.0.1:15000",), SECOND, render
    )


def migrate(seed: int, started: int) -> LogScript:
    """The payments init container: schema migrations, then exit 0."""
    steps = (
        "Connecting to payments-db:5432",
        "Current schema version: 41",
        "Applying migration 42_add_idempotency_keys",
        "Schema is up to date (version 42)",
    )
    return FixedScript(
        tuple(
            ((i + 1) * SECOND // 3, f"{_iso_ms(started + (i + 1) * SECOND // 3)} {text}".encode())
            for i, text in enumerate(steps)
        )
    )


_QUERIES = (
    "A IN payments.shop.svc.cluster.local.",
    "AAAA IN frontend.shop.svc.cluster.local.",
    "A IN checkout.shop.svc.cluster.local.",
    "A IN api.stripe.com.",
)


def coredns(seed: int, started: int) -> LogScript:
    def render(index: int, offset: int) -> bytes:
        return (
            f"[INFO] 10.244.{_mix(seed, index, 1) % 3 + 1}.{_mix(seed, index, 2) % 200 + 2}:"
            f"{_mix(seed, index, 3) % 20000 + 40000} "
            f'- {index % 65536} "{_pick(seed, index, _QUERIES)} udp 52 false 512" '
            f"NOERROR qr,aa,rd 120 0.000{_mix(seed, index, 4) % 900 + 100}s"
        ).encode()

    return PeriodicScript((b".:53", b"CoreDNS-1.11.3", b"linux/amd64, go1.22.5"), SECOND, render)


def generic(seed: int, started: int) -> LogScript:
    """Any image the scenario does not know: a quiet, healthy service."""

    def render(index: int, offset: int) -> bytes:
        return f"{_iso_ms(started + offset)} INFO handled request id={seed:x}-{index}".encode()

    return PeriodicScript((b"INFO starting",), SECOND, render)


def flood(rate: int, total: int | None, width: int) -> ScriptFactory:
    """Numbered lines of a fixed width at `rate` lines/s, for throughput benchmarks."""
    filler = b"x" * width

    def factory(seed: int, started: int) -> LogScript:
        def render(index: int, offset: int) -> bytes:
            return b"%010d %s" % (index, filler)

        return PeriodicScript((), max(1, SECOND // rate), render, total=total)

    return factory


HEALTHY = Behaviour(generic)
