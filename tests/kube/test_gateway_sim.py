"""The gateway through the real `kubernetes` client against the simulator over HTTP: the pod
watcher's resume, bookmarks, 410 re-list, dropped and stalled connections; log following
with resume, hostile lines and pod deletion; playbook actions; unreachable clusters."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from warroom.core.backoff import Backoff
from warroom.kube import actions
from warroom.kube.gateway import Gateway, Target
from warroom.kube.loglines import MAX_LINE
from warroom.kube.logs import LogOptions, LogSession, LogTarget
from warroom.kube.pods import PodWatcher, WatchSettings
from warroom.kube.sim import NASTY_LOG_LINES, Simulator
from warroom.kube.sim.kubeconfig import kubeconfig as make_kubeconfig
from warroom.kube.sim.kubeconfig import write_kubeconfig

FAST = WatchSettings(timeout_seconds=2, read_timeout=1.0, backoff=Backoff(0.05, 0.2))
QUICK = LogOptions(tail_lines=5, retry=Backoff(0.05, 0.2))


@pytest.fixture
def gateway(kubeconfig: Path) -> Iterator[Gateway]:
    gw = Gateway(Target(kubeconfig=str(kubeconfig)))
    yield gw
    gw.close()


@pytest.fixture
def background() -> Iterator[Callable[[Any], Any]]:
    """`background(worker)`: run `worker.run` on a thread; stopped and joined afterwards."""
    started: list[tuple[Any, threading.Thread]] = []

    def start(worker: Any) -> Any:
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=5)
        assert not thread.is_alive(), f"{worker} did not stop"


def names(watcher: PodWatcher) -> dict[str, str]:
    return {r.name: r.status for r in watcher.snapshot().rows.values()}


def first(sim: Simulator, app: str) -> str:
    return next(
        p["metadata"]["name"]
        for p in sim.state.store.list("pods", "shop")
        if p["metadata"]["labels"]["app"] == app
    )


def live(watcher: PodWatcher, wait_for: Any) -> PodWatcher:
    wait_for(lambda: watcher.state == "live" and watcher.snapshot().rows, what="a live watch")
    return watcher


# -- pods ---------------------------------------------------------------------------------------


def test_watcher_lists_then_follows_changes(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    watcher = live(background(PodWatcher(gateway, FAST)), wait_for)
    statuses = names(watcher)
    assert len(statuses) == 8 and sorted(set(statuses.values())) == ["CrashLoopBackOff", "Running"]
    victim = first(sim, "frontend")
    sim.state.delete_pod("shop", victim)
    wait_for(lambda: names(watcher).get(victim) == "Terminating", what="Terminating")
    sim.advance(5)
    wait_for(lambda: victim not in names(watcher) and len(names(watcher)) == 8, what="removal")
    # the server ended watches every 2 s meanwhile; each was resumed, never re-listed
    assert watcher.lists == 1


def test_watch_resumes_from_bookmarks(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    sim.state.bookmark_interval = 0.2
    watcher = live(background(PodWatcher(gateway, FAST)), wait_for)
    sim.state.delete_pod("default", sim.state.store.list("pods", "default")[0]["metadata"]["name"])
    target = str(sim.state.store.rv)
    wait_for(lambda: watcher.resource_version == target, what="a bookmark with the new rv")
    assert watcher.lists == 1 and len(names(watcher)) == 8


def test_410_gone_re_lists(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    watcher = live(background(PodWatcher(gateway, FAST)), wait_for)
    sim.state.stall_watches()
    victim = first(sim, "payments")
    sim.state.delete_pod("shop", victim, grace=0)
    sim.state.compact_history()
    sim.state.drop_watches()
    wait_for(lambda: watcher.lists == 2, what="a re-list after 410")
    wait_for(lambda: victim not in names(watcher) and watcher.state == "live")


def test_dropped_watch_reconnects_and_resumes(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    watcher = live(background(PodWatcher(gateway, FAST)), wait_for)
    sim.state.drop_watches()
    victim = first(sim, "frontend")
    sim.state.delete_pod("shop", victim)
    wait_for(lambda: names(watcher).get(victim) == "Terminating", what="the change after a drop")
    assert watcher.lists == 1


def test_stalled_watch_is_detected_by_read_timeout(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    slow = WatchSettings(timeout_seconds=60, read_timeout=1.0, backoff=Backoff(0.05, 0.2))
    watcher = live(background(PodWatcher(gateway, slow)), wait_for)
    sim.state.stall_watches()
    victim = first(sim, "frontend")
    sim.state.delete_pod("shop", victim)
    wait_for(lambda: names(watcher).get(victim) == "Terminating", timeout=6, what="stall noticed")
    assert watcher.lists == 1


def test_unreachable_cluster_and_missing_kubeconfig(
    tmp_path: Path, background: Any, wait_for: Any
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    path = write_kubeconfig(tmp_path / "kc", make_kubeconfig(f"http://127.0.0.1:{port}", None))
    watcher = background(PodWatcher(Gateway(Target(kubeconfig=str(path))), FAST))
    wait_for(lambda: watcher.state.startswith("unreachable: cannot reach the API server"))
    assert "kubectl cluster-info" in watcher.snapshot().hint
    missing = background(PodWatcher(Gateway(Target(kubeconfig=str(tmp_path / "nope"))), FAST))
    wait_for(lambda: missing.state.startswith("unreachable: no kubeconfig"))
    assert "warroom sim" in missing.snapshot().hint


def test_wrong_token_is_401_and_forbidden_writes_are_403(
    sim: Simulator, gateway: Gateway, tmp_path: Path, background: Any, wait_for: Any
) -> None:
    path = write_kubeconfig(tmp_path / "bad", make_kubeconfig(sim.url, "wrong-token"))
    watcher = background(PodWatcher(Gateway(Target(kubeconfig=str(path))), FAST))
    wait_for(lambda: watcher.state.startswith("unreachable: 401"))
    assert "credentials" in watcher.snapshot().hint
    sim.state.forbid_writes = True
    change = actions.describe_scale(gateway, "shop", "frontend", 4)
    assert isinstance(change, actions.Change)
    result = actions.apply(gateway, change)
    assert (result.ok, result.status) == (False, 403)
    assert "forbidden" in result.message and "RBAC" in result.message


def test_contexts_namespaces_selector_and_all_namespaces(
    sim: Simulator, tmp_path: Path, background: Any, wait_for: Any
) -> None:
    path = sim.write_kubeconfig(tmp_path / "kc", context="lab", namespace="kube-system")
    gateway = Gateway(Target(kubeconfig=str(path)))
    assert gateway.contexts() == (["lab"], "lab")
    assert gateway.namespace() == "kube-system"
    assert gateway.namespaces() == ["default", "kube-public", "kube-system", "shop"]
    shop = background(PodWatcher(gateway.switch(namespace="shop", selector="app=checkout"), FAST))
    everything = background(PodWatcher(gateway.switch(all_namespaces=True), FAST))
    wait_for(lambda: len(names(shop)) == 3 and len(names(everything)) == 12)
    assert {r.namespace for r in everything.snapshot().rows.values()} == {
        "default",
        "kube-system",
        "shop",
    }
    os.environ["KUBECONFIG"] = str(path)
    try:
        assert Gateway().namespace() == "kube-system"
    finally:
        del os.environ["KUBECONFIG"]


# -- logs ---------------------------------------------------------------------------------------


def log_of(sim: Simulator, pod: str, container: str | None = None) -> list[tuple[str, str]]:
    """Every (timestamp, text) the simulator has for the pod's current run."""
    run = sim.state.log_source("shop", pod, container, False)
    from warroom.core.rfc3339 import format_nano
    from warroom.kube.sim import logs as simlogs

    lines = simlogs.take(run, simlogs.Cursor(), run.until(sim.state.now), 10**9)
    return [(format_nano(at), text.decode("utf-8", "replace")) for at, text in lines]


def drain_all(session: LogSession, into: list) -> list:
    lines, dropped = session.buffer.drain()
    assert dropped == 0
    into.extend(lines)
    return into


def test_log_resume_after_stream_end_has_no_duplicates_or_gaps(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    pod = first(sim, "frontend")
    session = LogSession(gateway, [LogTarget("shop", pod)], QUICK)
    follower = background(session.followers[0])
    got: list = []
    wait_for(lambda: len(drain_all(session, got)) >= 5, what="the tail")
    start = got[0][1]
    for cut in range(3):
        sim.advance(1.5)
        sim.state.inject_log_lines("shop", pod, [b"same instant one", b"same instant two"])
        sim.state.end_log_streams()
        # "following" again once the resumed request has its headers: the server has then
        # opened the log, so the next cut reaches it (streams counts requests as they are made)
        wait_for(
            lambda: follower.streams >= cut + 2 and follower.state == "following",  # noqa: B023
            what="a resumed stream",
        )
        sim.advance(0.7)
    expected = [(s, t) for s, t in log_of(sim, pod) if s >= start]
    wait_for(lambda: len(drain_all(session, got)) >= len(expected), what="every line")
    assert [(s, t) for _, s, t in got] == expected
    assert sum("same instant" in t for _, _, t in got) == 6
    assert follower.state in ("following", "resuming")


def test_hostile_lines_are_decoded_cut_and_cleaned(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    pod = first(sim, "frontend")
    session = LogSession(gateway, [LogTarget("shop", pod)], LogOptions(tail_lines=0))
    background(session.followers[0])
    wait_for(lambda: session.followers[0].state == "following")
    sim.state.inject_log_lines("shop", pod, NASTY_LOG_LINES)
    got: list = []
    wait_for(lambda: sum("huge:" in t for _, _, t in drain_all(session, got)) == 1)
    texts = [t for _, _, t in got]
    assert "invalid utf-8: \ufffd\ufffd\ufffd( end" in texts
    assert "ansi: red  cleared?" in texts
    assert "osc:  link" in texts
    assert "rich markup: [red]boom[/red] [link=https://evil.example]click[/link] [/]" in texts
    stamp, huge = next((s, t) for _, s, t in got if t.startswith("huge:"))
    raw_length = len(stamp) + 1 + len(NASTY_LOG_LINES[-1])
    assert huge.endswith(f" … ({raw_length - MAX_LINE} bytes cut)")
    assert len(huge) < MAX_LINE + 40
    assert not any("\x1b" in t or "\x07" in t for t in texts)


def test_following_stops_when_the_pod_is_gone(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    pod = first(sim, "frontend")
    session = LogSession(gateway, [LogTarget("shop", pod)], QUICK)
    follower = background(session.followers[0])
    wait_for(lambda: follower.state == "following")
    sim.state.delete_pod("shop", pod)
    sim.advance(5)
    wait_for(lambda: follower.state == "ended: pod gone")


def test_previous_logs_and_several_containers(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    crashed = first(sim, "checkout")
    previous = LogSession(
        gateway, [LogTarget("shop", crashed)], LogOptions(previous=True, tail_lines=None)
    )
    background(previous.followers[0])
    wait_for(lambda: previous.followers[0].state == "ended: previous run shown")
    assert previous.buffer.drain()[0][-1][2] == "KeyError: 'eu-west-3'"
    payments = first(sim, "payments")
    targets = [LogTarget("shop", payments, c) for c in ("payments", "envoy", "migrate")]
    several = LogSession(gateway, targets, LogOptions(tail_lines=2))
    for follower in several.followers:
        background(follower)
    got: list = []
    wait_for(lambda: {s for s, _, _ in drain_all(several, got)} == {0, 1, 2})
    wait_for(lambda: several.followers[2].state.startswith("ended"))


def test_a_full_buffer_drops_the_oldest_and_counts(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    session = LogSession(
        gateway, [LogTarget("shop", first(sim, "frontend"))], LogOptions(tail_lines=None), maxlen=10
    )
    follower = background(session.followers[0])
    wait_for(lambda: follower.state in ("following", "resuming") and session.buffer.dropped)
    lines, dropped = session.buffer.drain()
    assert len(lines) == 10 and dropped > 0


# -- actions ------------------------------------------------------------------------------------


def test_undo_fixes_checkout(
    sim: Simulator, gateway: Gateway, background: Any, wait_for: Any
) -> None:
    watcher = live(background(PodWatcher(gateway, FAST)), wait_for)
    change = actions.describe_undo(gateway, "shop", "checkout")
    assert isinstance(change, actions.Change)
    assert change.summary[0].startswith("revision 4 → 3")
    assert change.summary[1] == (
        "container checkout: registry.example.com/shop/checkout:2.5.0 → "
        "registry.example.com/shop/checkout:2.4.1"
    )
    result = actions.apply(gateway, change)
    assert result.ok, result.message
    for _ in range(12):
        sim.advance(5)

    def healthy() -> bool:
        rows = [r for r in watcher.snapshot().rows.values() if r.name.startswith("checkout")]
        return len(rows) == 3 and all((r.status, r.ready) == ("Running", "1/1") for r in rows)

    wait_for(healthy, what="checkout healthy after undo")
    again = actions.apply(gateway, change)
    assert (again.ok, again.status) == (False, 409)
    assert "changed after it was described" in again.message


def test_restart_and_scale(sim: Simulator, gateway: Gateway) -> None:
    before = {p["metadata"]["name"] for p in sim.state.store.list("pods", "shop")}
    restart = actions.describe_restart(gateway, "shop", "frontend")
    assert isinstance(restart, actions.Change)
    assert restart.command == "kubectl -n shop rollout restart deployment/frontend"
    assert actions.apply(gateway, restart).ok
    scale = actions.describe_scale(gateway, "shop", "frontend", 5)
    assert isinstance(scale, actions.Change) and scale.summary == ["replicas 3 → 5"]
    result = actions.apply(gateway, scale)
    assert result.ok and "--replicas=5" in result.message
    for _ in range(10):
        sim.advance(5)
    frontend = [
        p
        for p in sim.state.store.list("pods", "shop")
        if p["metadata"]["labels"]["app"] == "frontend"
    ]
    assert len(frontend) == 5 and not {p["metadata"]["name"] for p in frontend} & before
    template = sim.state.store.get("deployments", "shop", "frontend")["spec"]["template"]
    assert actions.RESTARTED_AT in template["metadata"]["annotations"]


def test_missing_deployment_and_owner_lookup(sim: Simulator, gateway: Gateway) -> None:
    missing = actions.describe_undo(gateway, "shop", "nope")
    assert isinstance(missing, actions.ActionResult)
    assert (missing.ok, missing.status) == (False, 404) and "not found" in missing.message
    pod = sim.state.store.get("pods", "shop", first(sim, "payments"))
    assert actions.owning_deployment(gateway, pod) == "payments"
    assert actions.deployments(gateway, "shop") == ["checkout", "frontend", "payments"]
    assert isinstance(actions.describe_scale(gateway, "shop", "frontend", -1), actions.ActionResult)


# -- a real cluster (opt-in) --------------------------------------------------------------------


@pytest.mark.realcluster
def test_against_a_real_cluster(background: Any, wait_for: Any) -> None:
    path = os.environ.get("WARROOM_REAL_KUBECONFIG")
    if not path:
        pytest.skip("set WARROOM_REAL_KUBECONFIG to run against a real cluster")
    gateway = Gateway(Target(kubeconfig=path))
    watcher = background(PodWatcher(gateway))
    wait_for(lambda: watcher.state == "live", timeout=30)
    rows = watcher.snapshot().rows
    if rows:
        row = next(iter(rows.values()))
        pod = watcher.pod(row.uid) or {}
        container = pod["spec"]["containers"][0]["name"]
        session = LogSession(
            gateway, [LogTarget(row.namespace, row.name, container)], LogOptions(tail_lines=5)
        )
        follower = background(session.followers[0])
        wait_for(lambda: follower.state != "starting", timeout=30)


def test_stop_after_the_stream_ended_by_itself_is_quiet(sim: Simulator, gateway: Gateway) -> None:
    """`stop()` races its reader: the stream can end (urllib3 returns the connection to the
    pool, or closes it) just before `stop()` shuts the socket to wake the reader. That raised
    from the pane's unmount and broke the app's shutdown (1 run in 10 under load)."""
    core = gateway.core()
    for finish in ("read", "close"):
        ended = core.list_namespaced_pod("shop", _preload_content=False)
        if finish == "read":
            ended.read()
        else:
            ended.close()
        watcher = PodWatcher(gateway, FAST)
        watcher._response = ended
        watcher.stop()
        follower = LogSession(gateway, [LogTarget("shop", first(sim, "frontend"))]).followers[0]
        follower._response = ended
        follower.stop()
        assert watcher._stop.is_set() and follower.stopped
