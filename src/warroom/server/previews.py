"""The composer's dry run in a team (`POST /v1/channels/preview`): a draft update as each of
the server's channels would receive it, built by the channels themselves, so secrets are
redacted as in `warroom deliver --dry-run`. Nothing is sent or stored.

The delivery queue (for the earlier deliveries a Slack reply or a Statuspage update builds
on) is opened on the first dry run, so a server whose consoles never ask pays nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.delivery.channel import Channel
    from warroom.delivery.compose import Preview
    from warroom.delivery.queue import Queue
    from warroom.server.backend import Backend


class Previews:
    def __init__(self, backend: Backend, channels: Sequence[Channel]) -> None:
        self.backend = backend
        self.channels = list(channels)
        self._queue: Queue | None = None

    async def of(
        self, incident_id: str, text: str, *, audience: str, template: str, actor: str
    ) -> list[Preview] | None:
        """Each carrying channel's requests for the draft; None for an unknown incident."""
        from warroom.delivery.compose import draft_update, preview
        from warroom.server.deliveries import queue_for

        if incident_id not in await self.backend.incident_ids():
            return None  # not folded: an unknown id must not take a place in the state cache
        state = await self.backend.state(incident_id)
        now = datetime.now(UTC)
        draft = draft_update(
            state, text, audience=audience, template=template, actor=actor, now=now
        )
        carrying = [c for c in self.channels if c.carries(draft)]
        if carrying and self._queue is None:
            self._queue = queue_for(self.backend)
        position = f"{draft.hlc} {draft.id}"
        previous = {}
        for channel in carrying:
            assert self._queue is not None
            previous[channel.name] = await self._queue.previous(incident_id, channel.name, position)
        return await asyncio.to_thread(preview, carrying, draft, state, previous)

    async def close(self) -> None:
        close = getattr(self._queue, "close", None)  # PostgreSQL's holds a connection
        if close is not None:
            await close()
