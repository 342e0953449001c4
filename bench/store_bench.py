"""Append latency, opening a 100k-event incident, exporting it to Markdown."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Figure, percentile, section, timed
from warroom.core.commands import (
    AddNote,
    AssignRole,
    Command,
    Declare,
    PinLogLine,
    PostUpdate,
    RecordAction,
)
from warroom.core.export import to_markdown
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.store import EventLog

N_APPEND = 600
N_BIG = 100_000


def raw_insert_latencies(path: Path, n: int) -> list[float]:
    """The floor: one INSERT per IMMEDIATE transaction, same pragmas, plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, incident_id TEXT, payload TEXT)")
    out = []
    for i in range(n):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO t VALUES (?, ?, ?)", (new_id(), "x", json.dumps({"text": f"note {i}"}))
        )
        conn.execute("COMMIT")
        out.append(time.perf_counter() - start)
    conn.close()
    return out


def append_latencies(path: Path, n: int) -> list[float]:
    log = EventLog(path)
    incident = new_id()
    log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
    out = []
    for i in range(n):
        start = time.perf_counter()
        log.execute(incident, [AddNote(text=f"note {i}")], "bench")
        out.append(time.perf_counter() - start)
    log.close()
    return out


def seed_big(path: Path, n: int) -> str:
    """A realistic mix of 100k events, written in batches (seeding is not what we measure)."""
    log = EventLog(path)
    incident = new_id()
    log.execute(incident, [Declare(title="big", severity="SEV1")], "bench")
    kinds = [
        lambda i: AddNote(text=f"observation {i}: p99 latency is {i % 900} ms"),
        lambda i: PinLogLine(pod=f"api-{i % 7}", text=f"ERROR request {i} failed"),
        lambda i: AssignRole(role="scribe", person=f"person{i % 5}"),
        lambda i: PostUpdate(body=f"update {i}", audience="internal"),
        lambda i: RecordAction(description=f"restart {i}", ok=True),
    ]
    batch: list[Command] = []
    for i in range(n - 1):
        make = kinds[0] if i % 10 < 6 else kinds[1 + i % 4]
        batch.append(make(i))
        if len(batch) == 2000:
            log.execute(incident, batch, "bench")
            batch = []
    if batch:
        log.execute(incident, batch, "bench")
    log.close()
    return incident


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    figures = []
    section(f"Event log: append latency ({N_APPEND} appends, one transaction each)")
    raw = raw_insert_latencies(tmp / "raw.db", N_APPEND)
    ours = append_latencies(tmp / "ours.db", N_APPEND)
    for p in (50, 99):
        value, base = percentile(ours, p) * 1000, percentile(raw, p) * 1000
        goal = "<= 2 ms and <= 2x raw" if p == 99 else ""
        met = (value <= 2.0 and value <= 2 * base) if p == 99 else None
        figures.append(Figure(f"append p{p}", value, "ms", "raw sqlite3 insert", base, goal, met))
        print(figures[-1].line())

    section(f"Opening a {N_BIG:,}-event incident")
    big = tmp / "big.db"
    incident = seed_big(big, N_BIG)

    def raw_read() -> None:
        conn = sqlite3.connect(big)
        rows = conn.execute(
            "SELECT payload FROM events WHERE incident_id = ? ORDER BY hlc, id", (incident,)
        ).fetchall()
        [json.loads(r[0]) for r in rows]
        conn.close()

    base = timed(raw_read, 3) * 1000

    def cold() -> None:
        with EventLog(big) as log:
            project(log.timeline.events(incident), incident)

    cold_ms = timed(cold, 3) * 1000
    with EventLog(big) as log:
        log.state(incident)  # writes the snapshot the console and CLI then reuse

    def warm() -> None:
        with EventLog(big) as log:
            log.state(incident)

    warm_ms = timed(warm, 5) * 1000
    figures.append(
        Figure(
            "open + project (cached)",
            warm_ms,
            "ms",
            "raw read of all rows",
            base,
            "<= 300 ms",
            warm_ms <= 300,
        )
    )
    print(figures[-1].line())
    figures.append(
        Figure("open + project (cold fold)", cold_ms, "ms", "raw read of all rows", base)
    )
    print(figures[-1].line())

    section(f"Exporting {N_BIG:,} events to Markdown")
    with EventLog(big) as log:
        state = log.state(incident)

        def export() -> None:
            to_markdown(state, log.timeline.events(incident), DEFAULT_POLICY, ZoneInfo("UTC"))

        export_ms = timed(export, 3) * 1000
    figures.append(
        Figure(
            "export md (read + render)",
            export_ms,
            "ms",
            "raw read of all rows",
            base,
            "<= 1000 ms",
            export_ms <= 1000,
        )
    )
    print(figures[-1].line())
    return figures
