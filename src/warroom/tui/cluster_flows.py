"""The cluster panes' dialogs, as flows (see `warroom.tui.flows`): the revision to roll back
to, how many replicas, a since-window or last-N for logs, a container, where to save logs.

Like every flow they see data, never the cluster: what needs reading (a rollout history, the
current replica count) comes in through a `Load` step whose fetch the pane hands in, and runs
in `FlowScreen`'s worker. Each ends with `Picked(value)` for the pane that opened it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from warroom.cells import cut
from warroom.kube.logs import LogOptions
from warroom.kube.rollouts import Revision
from warroom.tui.steps import Choose, Field, Fill, Flow, Load, Notice, Outcome, Picked

SINCE = ((60, "1m"), (300, "5m"), (900, "15m"), (3600, "1h"))
"""The since-windows offered (kubectl logs --since)."""
TAILS = (200, 1000, 5000)


async def open_flow(app: App[Any], flow: Flow, done: Callable[[Outcome], None]) -> None:
    """Show `flow` in the one modal every dialog runs in; `done` gets its outcome."""
    from warroom.tui.screens.flow import FlowScreen

    try:
        first = next(flow)
    except StopIteration as ended:
        done(ended.value)
        return
    await app.push_screen(FlowScreen(flow, first), done)


def undo(load: Callable[[], tuple[str, list[Revision]]], now: int) -> Flow:
    """Pick the revision to roll back to (the previous one first), from the history `load`
    reads: revision, image, when, change-cause, as `kubectl rollout history` and more."""
    loaded = yield Load("rollout history", load)
    if isinstance(loaded, Exception):
        return Notice(f"Rollout history: {loaded}", error=True)
    deployment, revisions = loaded
    current = next((r.number for r in revisions if r.current), 0)
    older = [r.number for r in revisions if r.number < current]
    if not older:
        return Notice(f"deployment/{deployment} has no earlier revision to roll back to")
    options = tuple(
        (str(r.number), revision_label(r, now)) for r in sorted(revisions, key=lambda r: -r.number)
    )
    chosen = yield Choose(
        f"Roll back deployment/{deployment} to",
        options,
        str(max(older)),
        "Enter shows the exact change and asks before anything is applied",
    )
    if chosen is None:
        return None
    if int(chosen) == current:
        return Notice(f"Revision {current} is what deployment/{deployment} runs now")
    return Picked((deployment, int(chosen)))


def revision_label(revision: Revision, now: int) -> str:
    mark = "  ← now" if revision.current else ""
    cause = revision.change_cause or "<no change-cause>"
    return (
        f"{revision.number:>3}  {cut(revision.image_text, 30)}  {revision.when(now)}  "
        f"{cut(cause, 60)}{mark}"
    )


def scale(load: Callable[[], tuple[str, int, int]]) -> Flow:
    """How many replicas, starting from how many there are."""
    loaded = yield Load("replicas", load)
    if isinstance(loaded, Exception):
        return Notice(f"Scale: {loaded}", error=True)
    deployment, desired, available = loaded
    field = Field(
        "replicas",
        f"Replicas (now {desired}, {available} available)",
        str(desired),
        parse=_replicas,
    )
    values = yield Fill(f"Scale deployment/{deployment}", (field,))
    if values is None:
        return None
    if values["replicas"] == desired:
        return Notice(f"deployment/{deployment} already has {desired} replicas")
    return Picked((deployment, values["replicas"]))


def _replicas(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 10_000:
        raise ValueError("a whole number of replicas, 0 to 10000")
    return int(text)


def log_range(options: LogOptions) -> Flow:
    """Since a window, the last N lines, or everything the kubelet kept."""
    if options.since_seconds is not None:
        current = f"since:{options.since_seconds}"
    elif options.tail_lines is not None:
        current = f"tail:{options.tail_lines}"
    else:
        current = "all"
    choices = [(f"since:{s}", f"Since {label} ago (--since={label})") for s, label in SINCE]
    choices += [(f"tail:{n}", f"The last {n:,} lines (--tail={n})") for n in TAILS]
    if current.startswith("tail:") and current not in dict(choices):
        choices.append((current, f"The last {options.tail_lines:,} lines"))
    choices += [("tail:?", "The last N lines…"), ("all", "Everything the kubelet kept")]
    chosen = yield Choose("Show logs", tuple(choices), current)
    if chosen is None:
        return None
    if chosen == "tail:?":
        field = Field("lines", "How many lines", "500", parse=_lines)
        values = yield Fill("The last N lines", (field,))
        return Picked(("tail", values["lines"]))
    kind, _, amount = chosen.partition(":")
    return Picked((kind, int(amount) if amount else None))


def _lines(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= 1_000_000:
        raise ValueError("a whole number of lines, 1 to 1000000")
    return int(text)


def container(containers: list[str], inits: list[str], current: str | None) -> Flow:
    """One container, or all of them (the pod's main containers)."""
    options = [("*", "All containers")]
    options += [(name, name) for name in containers]
    options += [(name, f"{name} (init)") for name in inits]
    chosen = yield Choose("Follow which container", tuple(options), current or "*")
    if chosen is None:
        return None
    return Picked(None if chosen == "*" else chosen)


def save_logs(directory: Path, name: str) -> Flow:
    """Where to save: the configured directory and a name saying what the file holds."""
    fields = (
        Field("directory", "Directory (created if missing)", str(directory), parse=_directory),
        Field("name", "File name", name, parse=_file_name),
    )
    values = yield Fill("Save the logs shown", fields)
    return Picked(values["directory"] / values["name"])


def _directory(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise ValueError("an absolute directory (~ is fine), not relative to where warroom runs")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{text} is a file, not a directory")
    return path


def _file_name(text: str) -> str:
    if "/" in text or "\\" in text or text in (".", "..") or not text.isprintable():
        raise ValueError("a file name, without a directory")
    return text
