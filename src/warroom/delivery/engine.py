"""The delivery engine: every event a channel carries reaches it, at least once, and never
twice where the remote can tell.

One worker per channel claims the channel's next delivery from the queue (`queue.py`): the
earliest unfinished one of each incident (so a thread stays in order), due, not leased by a
live holder, and only once the channel's pace allows. The claim is a lease; a holder that
dies mid-request loses it when it expires, and whoever claims the delivery next finds an
attempt "on its way" (`sending_since`) and asks the channel (`Channel.find`) whether the
remote has it before sending again. The event id travels as the idempotency key, so a
remote that cannot be asked (a webhook receiver) can recognise the repeat itself.

Outcomes become events of the delivered event's incident (`RecordSent`, `RecordFailed`),
written with the queue row in one transaction, so every responder sees them and the
postmortem knows when each update reached whom:

- sent: the remote's reference and permalink;
- a failure worth retrying (network, 5xx, 429): tried again after a capped, jittered
  backoff (at least the Retry-After a 429 asked for, which also pauses the channel); the
  outcome counts as unknown, so the next attempt checks first. A failure is recorded when
  its reason changes, not at every attempt;
- any other 4xx: failed for good, retried only on request (`warroom deliveries retry`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from warroom.background import first_of
from warroom.core.backoff import Backoff
from warroom.core.text import one_line
from warroom.delivery.channel import Channel, Delivered, DeliveryError
from warroom.delivery.compose import Links, Preview, no_links, outgoing, preview
from warroom.delivery.queue import Queue
from warroom.store.deliveries import UNFINISHED, Claim, Finish, Row

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.core.events import Event

log = logging.getLogger("warroom.delivery")

MAX_RETRY_AFTER = 3600.0
"""Seconds: the longest a Retry-After is honoured (a remote could ask for years)."""


@dataclass(frozen=True)
class Timing:
    """How patient the engine is. Tests shrink these; the defaults suit real services."""

    lease: float = 30.0
    """Seconds a claim is held without renewal; a holder renews it while a request runs."""
    poll: float = 1.0
    """Seconds an idle worker waits before looking again (other deliverers' changes)."""
    backoff: Backoff = field(default_factory=lambda: Backoff(base=2.0, cap=300.0))
    stale_after: float = 24 * 3600.0
    """Seconds after which an event that was never queued is too old to send."""


@dataclass(frozen=True)
class Result:
    """One outcome, as `warroom deliver --watch` prints it."""

    channel: str
    event_id: str
    incident_id: str
    kind: str
    state: Literal["sent", "retrying", "failed"]
    attempt: int
    at: float
    ref: str = ""
    permalink: str = ""
    reason: str = ""
    next_at: float | None = None


def owner_id() -> str:
    """Who holds a lease: this host and process, and a nonce for restarts."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Engine:
    """Delivers what `queue` holds to `channels`: `run` until cancelled, or `once`."""

    def __init__(
        self,
        queue: Queue,
        channels: Sequence[Channel],
        *,
        owner: str | None = None,
        timing: Timing | None = None,
        clock: Callable[[], float] = time.time,
        links: Links = no_links,
        on_result: Callable[[Result], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.channels = {c.name: c for c in channels}
        self.owner = owner or owner_id()
        self.timing = timing or Timing()
        self.clock = clock
        self.links = links
        self.on_result = on_result
        self.rng = rng or random.Random()
        self._wake: dict[str, asyncio.Event] = {}
        self._poked = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- routing ------------------------------------------------------------------------------

    def route(self, event: Event) -> list[str]:
        """The configured channels that carry `event`."""
        return [name for name, channel in self.channels.items() if channel.carries(event)]

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _stale_before(self, now: int) -> int:
        return now - int(self.timing.stale_after * 1000)

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled: one scanner, one worker per channel."""
        self._loop = asyncio.get_running_loop()
        self._wake = {name: asyncio.Event() for name in self.channels}
        self._poked = asyncio.Event()
        await self.queue.register(list(self.channels))
        async with asyncio.TaskGroup() as group:
            group.create_task(self._scanner())
            for channel in self.channels.values():
                group.create_task(self._worker(channel))

    def poke(self) -> None:
        """Look for new events now (thread-safe): call after a local write."""
        loop = self._loop
        if loop is not None:
            with suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._poked.set)

    async def once(self) -> dict[tuple[str, str], int]:
        """Deliver everything due now, each channel at its pace, then stop; the queue's
        counts by (channel, state) afterwards. What fails is left for a later run."""
        self._wake = {name: asyncio.Event() for name in self.channels}
        await self.queue.register(list(self.channels))
        await self._scan_all()
        async with asyncio.TaskGroup() as group:
            for channel in self.channels.values():
                group.create_task(self._drain(channel))
        return await self.queue.counts()

    async def dry_run(self) -> list[Preview]:
        """The exact requests each channel would receive for everything due; sends nothing
        and changes nothing."""
        now = self._now()
        rows = await self.queue.preview(self.route, now, self._stale_before(now))
        out: list[Preview] = []
        for row in sorted(rows, key=lambda r: (r.channel, r.position)):
            channel = self.channels.get(row.channel)
            event = await self.queue.event(row.event_id)
            if channel is None or event is None:
                continue
            state = await self.queue.state(row.incident_id)
            previous = await self.queue.previous(row.incident_id, row.channel, row.position)
            out += preview([channel], event, state, {channel.name: previous}, self.links)
        return out

    def undelivered(self, counts: dict[tuple[str, str], int]) -> int:
        """How many deliveries to configured channels are not sent (pending, retrying,
        failed): `warroom deliver --once` exits 0 only when there are none."""
        return sum(
            n
            for (channel, state), n in counts.items()
            if channel in self.channels and state in (*UNFINISHED, "failed")
        )

    async def _scan_all(self) -> None:
        while True:
            now = self._now()
            queued, more = await self.queue.scan(self.route, now, self._stale_before(now))
            if queued:
                for wake in self._wake.values():
                    wake.set()
            if not more:
                return

    async def _scanner(self) -> None:
        delays = self.timing.backoff.delays(self.rng)
        while True:
            try:
                await self._scan_all()
                delays = self.timing.backoff.delays(self.rng)
            except Exception as exc:  # the store is busy or gone for a moment: go on later
                log.warning("delivery: cannot read new events: %s", one_line(str(exc), 300))
                await asyncio.sleep(next(delays))
                continue
            self._poked.clear()
            await first_of(self.queue.changed(self.timing.poll), self._poked.wait())

    async def _worker(self, channel: Channel) -> None:
        wake = self._wake[channel.name]
        delays = self.timing.backoff.delays(self.rng)
        while True:
            now = self._now()
            try:
                got = await self._claim(channel, now)
                delays = self.timing.backoff.delays(self.rng)
            except Exception as exc:
                log.warning("delivery: %s: cannot claim: %s", channel.name, one_line(str(exc), 300))
                await asyncio.sleep(next(delays))
                continue
            if isinstance(got, Claim):
                try:
                    await self._deliver(channel, got)
                except Exception as exc:  # the store failed mid-way: the lease runs out
                    log.warning("delivery: %s: %s", channel.name, _clip(str(exc), 300))
                    await asyncio.sleep(next(delays))
                continue
            wait = self.timing.poll
            if got.until is not None:
                wait = min(wait, max(0.0, (got.until - now) / 1000))
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
            wake.clear()

    async def _drain(self, channel: Channel) -> None:
        """Claim and deliver until nothing is due, waiting out the channel's pace (but not
        a pause a 429 asked for: that is a later run's)."""
        while True:
            now = self._now()
            got = await self._claim(channel, now)
            if isinstance(got, Claim):
                await self._deliver(channel, got)
                continue
            wait = (got.until - now) / 1000 if got.until is not None else None
            if not got.paced or wait is None or wait > channel.pace + 0.1:
                return
            await asyncio.sleep(max(0.0, wait))

    async def _claim(self, channel: Channel, now: int) -> Any:
        lease = int(self.timing.lease * 1000)
        return await self.queue.claim(
            channel.name, self.owner, now, lease, int(channel.pace * 1000)
        )

    # -- one delivery ---------------------------------------------------------------------------

    async def _deliver(self, channel: Channel, claim: Claim) -> None:
        """Check an attempt of unknown outcome, or send; then record what happened. Nothing
        here raises: a failure is an outcome, and a lost lease is someone else's to record."""
        row = claim.row
        try:
            state = await self.queue.state(row.incident_id)
            previous = await self.queue.previous(row.incident_id, row.channel, row.position)
        except Exception as exc:
            log.warning(
                "delivery: %s: cannot read its incident: %s", channel.name, _clip(str(exc), 300)
            )
            with suppress(Exception):
                await self.queue.release(claim, self.owner)
            return
        out = outgoing(channel.name, claim.event, state, previous, self.links)
        if claim.unknown:
            try:
                found = await self._call(claim, channel.find, out)
            except DeliveryError as exc:
                # Whatever the remote said, the check is tried again later: never a resend
                # where the remote could tell (`warroom deliveries retry --resend` overrides).
                reason = f"cannot tell whether attempt {row.attempts} arrived: {exc.reason}"
                again = DeliveryError(reason, retry=True, after=exc.after)
                await self._failed(channel, claim, row.attempts, again, reason, unknown=True)
                return
            if found is not None:
                await self._sent(channel, claim, max(row.attempts, 1), found)
                return
        if not claim.started:
            now = self._now()
            if not await self.queue.start(claim, self.owner, now, int(self.timing.lease * 1000)):
                return
            row = replace(row, attempts=row.attempts + 1)
        attempt = row.attempts
        try:
            delivered = await self._call(claim, channel.send, out)
        except DeliveryError as exc:
            await self._failed(channel, claim, attempt, exc, exc.reason, unknown=exc.retry)
            return
        await self._sent(channel, claim, attempt, delivered)

    async def _call(self, claim: Claim, call: Callable[[Any], Any], arg: Any) -> Any:
        """Run a channel's blocking call in a thread, renewing the lease meanwhile. Any
        exception but DeliveryError is the channel's bug: a retryable failure here."""
        renewer = asyncio.create_task(self._renew(claim))
        try:
            return await asyncio.to_thread(call, arg)
        except DeliveryError:
            raise
        except Exception as exc:
            # Its message could quote a secret (a URL with a token): the type only, unless
            # someone debugging asks for the traceback.
            name = type(exc).__name__
            debug = os.environ.get("WARROOM_DEBUG") == "1"
            log.error("delivery: the channel failed unexpectedly (%s)", name, exc_info=debug)
            raise DeliveryError(f"internal error in the channel ({name})", retry=True) from None
        finally:
            renewer.cancel()
            # gather, not `suppress(CancelledError)`: that would also swallow a cancellation
            # of this task arriving meanwhile, and the engine would never stop.
            await asyncio.gather(renewer, return_exceptions=True)

    async def _renew(self, claim: Claim) -> None:
        lease = self.timing.lease
        while True:
            await asyncio.sleep(lease / 3)
            with suppress(Exception):
                await self.queue.renew(claim, self.owner, self._now() + int(lease * 1000))

    async def _sent(
        self, channel: Channel, claim: Claim, attempt: int, delivered: Delivered
    ) -> None:
        now = self._now()
        extra = {_clip(k, 100): _clip(v, 500) for k, v in list(delivered.extra.items())[:20]}
        outcome = Finish(
            "sent",
            now,
            next_at=now,
            ref=_clip(delivered.ref, 500),
            permalink=_clip(delivered.permalink, 2000),
            extra=extra,
        )
        command = _record_sent(
            claim, channel, attempt, now, outcome.ref, outcome.permalink, outcome.extra
        )
        await self._finish(channel, claim, outcome, [command], "sent", attempt)

    async def _failed(
        self,
        channel: Channel,
        claim: Claim,
        attempt: int,
        exc: DeliveryError,
        reason: str,
        *,
        unknown: bool,
    ) -> None:
        now = self._now()
        reason = _clip(reason, 500) or "failed (no reason given)"
        pause = None
        if exc.retry:
            after = min(max(exc.after or 0.0, 0.0), MAX_RETRY_AFTER)
            delay = max(self.timing.backoff.delay(max(attempt, 1), self.rng), after)
            next_at = now + int(delay * 1000)
            if exc.after is not None:
                pause = now + int(after * 1000)
            report = reason != claim.row.reported
            state: Literal["retrying", "failed"] = "retrying"
        else:
            next_at, report, state = now, True, "failed"
        outcome = Finish(
            state,
            now,
            next_at=next_at,
            reason=reason,
            reported=reason if report else None,
            pause_until=pause,
            unknown=unknown and exc.retry,
        )
        commands = [_record_failed(claim, channel, attempt, now, reason, exc.retry, next_at)]
        await self._finish(
            channel, claim, outcome, commands if report else [], state, attempt, next_at
        )

    async def _finish(
        self,
        channel: Channel,
        claim: Claim,
        outcome: Finish,
        commands: Sequence[Command | None],
        state: Literal["sent", "retrying", "failed"],
        attempt: int,
        next_at: int | None = None,
    ) -> None:
        kept = [c for c in commands if c is not None]
        try:
            held = await self.queue.finish(claim, self.owner, outcome, kept)
        except Exception as exc:
            # The lease runs out and whoever claims the delivery next checks before sending.
            log.warning(
                "delivery: %s: cannot record the outcome: %s", channel.name, _clip(str(exc), 300)
            )
            return
        if not held:
            return
        level = logging.INFO if state == "sent" else logging.WARNING
        log.log(level, "delivery: %s %s to %s", state, claim.event.id, channel.name)
        if self.on_result is not None:
            self.on_result(
                Result(
                    channel.name,
                    claim.event.id,
                    claim.event.incident_id,
                    claim.event.kind,
                    state,
                    attempt,
                    outcome.now / 1000,
                    outcome.ref,
                    outcome.permalink,
                    outcome.reason,
                    next_at / 1000 if next_at is not None and state == "retrying" else None,
                )
            )


# -- result events --------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """Outside text as a result event may hold it: one clean line, bounded."""
    return one_line(str(text), limit).strip()


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _record_sent(
    claim: Claim,
    channel: Channel,
    attempt: int,
    now: int,
    ref: str,
    permalink: str,
    extra: dict[str, str],
) -> Command | None:
    from warroom.core.commands import CommandError, RecordSent, make

    fields: dict[str, Any] = {
        "target": claim.event.id,
        "channel": channel.name,
        "channel_kind": channel.kind,
        "at": _moment(now),
        "attempt": attempt,
    }
    for extras in ({"ref": ref, "permalink": permalink, "extra": extra}, {}):
        try:
            return make(RecordSent, **fields, **extras)
        except CommandError as exc:  # the remote's words did not fit: record without them
            log.warning("delivery: %s: result details dropped: %s", channel.name, exc)
    return None


def _record_failed(
    claim: Claim,
    channel: Channel,
    attempt: int,
    now: int,
    reason: str,
    retry: bool,
    next_at: int,
) -> Command | None:
    from warroom.core.commands import CommandError, RecordFailed, make

    try:
        return make(
            RecordFailed,
            target=claim.event.id,
            channel=channel.name,
            channel_kind=channel.kind,
            reason=reason,
            retry=retry,
            at=_moment(now),
            attempt=max(attempt, 1),
            next_at=_moment(next_at) if retry else None,
        )
    except CommandError as exc:
        log.warning("delivery: %s: failure not recorded: %s", channel.name, exc)
        return None


def summary_line(counts: dict[tuple[str, str], int], channels: Iterable[str]) -> str:
    """`3 sent, 1 retrying, 1 failed` over the configured channels."""
    names = set(channels)
    totals: dict[str, int] = {}
    for (channel, state), n in counts.items():
        if channel in names:
            totals[state] = totals.get(state, 0) + n
    order = ("sent", "pending", "retrying", "failed")
    parts = [f"{totals[s]} {s}" for s in order if totals.get(s)]
    return ", ".join(parts) or "nothing to deliver"


__all__ = ["Engine", "Result", "Row", "Timing", "owner_id", "summary_line"]
