"""The cluster row: the pods pane, and beside it what was asked about a pod (its logs, its
events, its describe, its deployment's rollout history); the flow between them.

It owns the namespace's event and deployment watchers (started with the row, so the events
pane opens full), hands the detail panes what they show, and turns what they report into
commands for the timeline: a pinned log line, a pinned event or describe line or revision,
a confirmed playbook action with its outcome, and the deployment changes people made while
the incident was open (offered, not written: `C` keeps them). It posts `Record` for the
console to write and `Described` for the header; it never touches the incident itself.

Nothing beside the pods pane takes room until something is asked: the pods table is then as
wide as its columns and the detail pane gets the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher

from warroom.tui.widgets.panels import Panel

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.kube.changes import ClusterChange, DeploymentWatcher
    from warroom.kube.events import EventWatcher, Subject
    from warroom.kube.gateway import Gateway, Target
    from warroom.kube.rollouts import Revision
    from warroom.kube.watch import WatchSettings
    from warroom.tui.widgets.inspect import Evidence, InspectPane, Item
    from warroom.tui.widgets.logs import LogsPane
    from warroom.tui.widgets.pods import PodsPane

REFRESH = 0.5
"""Seconds between looks at what the detail pane shows (events, describe, history)."""
OWN_CHANGE = 120.0
"""Seconds during which a deployment change is taken for the console's own playbook action
(recorded with its outcome already), not offered again."""
KINDS_OF = {
    "rollout undo": {"image", "rollout"},
    "rollout restart": {"restart"},
    "scale": {"scale"},
}


class ClusterRow(Horizontal):
    class Record(Message):
        """Evidence from the cluster for the timeline."""

        def __init__(self, command: Command, saved: str) -> None:
            super().__init__()
            self.command = command
            self.saved = saved

    class Described(Message):
        """Where the panes look, for the header: `context/namespace`, or why nowhere."""

        def __init__(self, label: str) -> None:
            super().__init__()
            self.label = label

    def __init__(
        self,
        target: Target | None,
        incident_commander: Callable[[], str | None],
        *,
        incident_open: Callable[[], bool] = lambda: True,
        now: Callable[[], int] = time.time_ns,
        tz: tzinfo = UTC,
        save_dir: Path | None = None,
        settings: WatchSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.incident_commander = incident_commander
        self.incident_open = incident_open
        self.now = now
        self.tz = tz
        self.save_dir = save_dir
        self.settings = settings
        self.context = ""
        self.events: EventWatcher | None = None
        self.deployments: DeploymentWatcher | None = None
        self.subject: Subject | None = None
        self._subject_pod: dict[str, Any] | None = None
        self._deployment: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
        self._deployment_version = -1
        self._loaded_at = 0.0
        self._looked: tuple[Any, ...] = ()
        self._changes_seen = 0
        self.offers: list[ClusterChange] = []
        """Deployment changes seen while the incident was open, waiting for `C`."""
        self._own: list[tuple[str, str, set[str], float]] = []
        """(namespace, deployment, kinds, until): changes the console made itself."""

    def compose(self) -> ComposeResult:
        if self.target is None:
            self.add_class("-none")  # a narrow screen keeps its rows for the timeline
            yield Panel("Pods", id="pods")
            yield Panel("Logs", id="logs")
            return
        from warroom.kube.gateway import Gateway
        from warroom.tui.widgets.inspect import DescribePane, EventsPane, RolloutsPane
        from warroom.tui.widgets.logs import LogsPane
        from warroom.tui.widgets.pods import PodsPane

        gateway = Gateway(self.target)
        yield PodsPane(
            gateway,
            incident_commander=self.incident_commander,
            settings=self.settings,
            now=self.now,
            id="pods",
        )
        with ContentSwitcher(id="detail"):
            yield LogsPane(gateway, save_dir=self.save_dir, settings=self.settings, id="logs")
            yield EventsPane(id="events")
            yield DescribePane(id="describe")
            yield RolloutsPane(id="rollouts")

    def on_mount(self) -> None:
        self.query_one("#pods").border_title = "Pods"
        self.query_one("#logs").border_title = "Logs"
        if self.target is None:
            self._placeholder()
            return
        self.query_one("#detail").display = False
        self._watch(self.pods.gateway)
        self._describe(self.pods.gateway)
        self.set_interval(REFRESH, self.look)

    def on_unmount(self) -> None:
        for watcher in (self.events, self.deployments):
            if watcher is not None:
                watcher.stop()

    def _watch(self, gateway: Gateway) -> None:
        from warroom.kube.changes import DeploymentWatcher
        from warroom.kube.events import EventWatcher

        for watcher in (self.events, self.deployments):
            if watcher is not None:
                watcher.stop()
        self.events = EventWatcher(gateway, self.settings)
        self.deployments = DeploymentWatcher(gateway, self.settings, clock=self.now)
        self._changes_seen = 0
        self.events.start()
        self.deployments.start()

    @property
    def pods(self) -> PodsPane:
        from warroom.tui.widgets.pods import PodsPane

        return self.query_one(PodsPane)

    @property
    def logs(self) -> LogsPane:
        from warroom.tui.widgets.logs import LogsPane

        return self.query_one(LogsPane)

    @property
    def gateway(self) -> Gateway | None:
        return None if self.target is None else self.pods.gateway

    @property
    def showing(self) -> str | None:
        """Which detail pane is shown ("logs", "events", "describe", "rollouts"), if any."""
        if self.target is None or not self.query_one("#detail").display:
            return None
        return self.query_one(ContentSwitcher).current

    def _placeholder(self) -> None:
        hint = Text()
        hint.append("No cluster connected.\n", style="bold")
        hint.append("Start one with `warroom sim`, or run with a kubeconfig\n", style="#8a8a8a")
        hint.append("(--kubeconfig / KUBECONFIG, --context, --namespace).", style="#8a8a8a")
        self.query_one("#pods", Panel).show(hint)
        self.query_one("#logs", Panel).show(Text("Select a pod to follow its logs.", "#8a8a8a"))

    @work(thread=True, group="cluster-describe", exit_on_error=False)
    def _describe(self, gateway: Gateway) -> None:
        """Context and namespace for the header; reading the kubeconfig is IO, so here."""
        from warroom.kube.gateway import GatewayError

        try:
            _, current = gateway.contexts()
            label = f"{current or 'no context'}/{gateway.namespace()}"
        except GatewayError as exc:
            label, current = f"unavailable: {exc}", ""
        self.app.call_from_thread(self._described, current or "", label)

    def _described(self, context: str, label: str) -> None:
        self.context = self.logs.context = context
        self.post_message(self.Described(label))

    def switch(self, context: str, namespace: str | None, all_namespaces: bool) -> None:
        pods = self.pods
        pods.switch(context=context, namespace=namespace, all_namespaces=all_namespaces)
        self.logs.gateway = pods.gateway
        self.context = self.logs.context = context
        self._watch(pods.gateway)
        self.offers.clear()
        self._noted()
        self.close()
        self.post_message(
            self.Described(f"{context}/{'all namespaces' if all_namespaces else namespace}")
        )

    # -- the detail pane -------------------------------------------------------------------------

    def show(self, which: str) -> None:
        """Show one detail pane beside the pods and give it the focus."""
        switcher = self.query_one(ContentSwitcher)
        switcher.current = which
        switcher.display = True
        self.add_class("-detail")
        self._layout()
        self._looked = ()
        self.look()
        if which == "logs":
            self.logs.view.focus()
        else:
            self._inspect(which).focus_list()

    def close(self) -> None:
        """The pods pane takes the room again (logs stop being followed)."""
        if self.target is None:
            return
        if self.logs.session is not None:
            self.logs.session.stop()
        self.query_one("#detail").display = False
        self.remove_class("-detail")
        self._layout()
        self.pods.table.focus()

    # -- focus decides the room (narrow screens) -------------------------------------------------

    def on_descendant_focus(self) -> None:
        self._focus_classes()

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._focus_classes)

    def _focus_classes(self) -> None:
        """The screen knows when the cluster has the focus (`-cluster`: on a narrow screen it
        then takes the height), the row when the detail pane has it (`-detail-focus`: the
        width)."""
        if not self.is_attached:
            return
        focused = self.screen.focused
        inside = focused is not None and self in focused.ancestors
        self.screen.set_class(inside, "-cluster")
        detail = self.query("#detail")
        in_detail = bool(detail) and focused is not None and detail.first() in focused.ancestors
        self.set_class(in_detail, "-detail-focus")
        self._layout()

    def on_resize(self) -> None:
        self.call_after_refresh(self._layout)  # the screen may have become narrow or wide

    def _layout(self) -> None:
        """Alone, the pods pane takes the row; beside a detail pane it is as wide as its
        columns (on a narrow screen up to STATUS, so the detail pane stays in sight), and
        while the detail pane has the focus only as wide as the pods' names (whole: their
        last part tells a deployment's pods apart), so log lines, events and revisions get
        the width."""
        if self.target is None:
            return
        if not self.has_class("-detail"):
            self.pods.fit(None)
        elif self.has_class("-detail-focus"):
            self.pods.fit("NAME")
        elif self.screen.has_class("-narrow"):
            self.pods.fit("STATUS")
        else:
            self.pods.fit("AGE")

    def _inspect(self, which: str) -> InspectPane:
        from warroom.tui.widgets.inspect import InspectPane

        return self.query_one(f"#{which}", InspectPane)

    def _about(self, row: Any, pod: dict[str, Any] | None) -> None:
        from warroom.kube.events import Subject

        if pod is None:
            return
        self.subject = Subject.of_pod(pod)
        self._subject_pod = pod
        if self._deployment is not None and (
            self._deployment[0].get("metadata", {}).get("name") != self.subject.deployment
        ):
            self._deployment = None
        self._load_deployment()

    def look(self) -> None:
        """Refresh the detail pane from what the watchers hold, if any of it moved."""
        which = self.showing
        self._offer()
        if which is None or which == "logs" or self.subject is None:
            return
        events, deployments = self.events, self.deployments
        pod = self._pod()
        second = self.now() // 1_000_000_000
        said = (
            which,
            self.subject,
            events.snapshot().version if events else -1,
            id(pod),
            id(self._deployment),
            second,
        )
        if deployments is not None and which in ("describe", "rollouts"):
            # before the early return: a change seen during the last read is read again later
            version = deployments.snapshot().version
            if version != self._deployment_version and time.monotonic() - self._loaded_at > 1:
                self._deployment_version = version
                self._load_deployment()
        if said == self._looked:
            return
        self._looked = said
        if which == "events":
            self._show_events()
        elif which == "describe":
            self._show_describe(pod)
        else:
            self._show_rollouts()

    def _pod(self) -> dict[str, Any] | None:
        """The subject pod as the pods watcher last saw it (else as it was when chosen)."""
        subject = self.subject
        if subject is None:
            return None
        live = self.pods.watcher.pod(subject.pod_uid)
        if live is not None:
            self._subject_pod = live
        return self._subject_pod

    def _show_events(self) -> None:
        from warroom.kube.events import about
        from warroom.tui.widgets.inspect import Evidence, Item

        assert self.subject is not None and self.events is not None
        snapshot = self.events.snapshot()
        rows = about(snapshot.rows.values(), self.subject)
        now = self.now()
        items = []
        for row in rows:
            prompt = Text()
            prompt.append("⚠ " if row.warning else "  ", style="bold #ff5f5f")
            prompt.append(row.reason, style="bold #ff5f5f" if row.warning else "bold")
            prompt.append(f"  {row.age(now)}  ", style="#8a8a8a")
            prompt.append(row.object if row.kind != "Pod" else "pod", style="#8a8a8a")
            prompt.append(f"\n  {row.message}")
            evidence = Evidence("event", row.object, row.namespace, row.evidence(), row.last)
            items.append(Item(row.uid, prompt, evidence))
        warnings = sum(r.warning for r in rows)
        status = Text()
        status.append(f"{len(rows)} events", style="bold")
        if warnings:
            status.append(f", {warnings} Warning", style="bold #ff5f5f")
        status.append(f" · {snapshot.state} · p pins one", style="#8a8a8a")
        if not rows:
            items.append(
                Item(
                    "none", Text("No events in the last hour (they live an hour).", style="#8a8a8a")
                )
            )
        self._inspect("events").show(status, items, f"Events · {self.subject.label}")

    def _show_describe(self, pod: dict[str, Any] | None) -> None:
        from warroom.kube.describe import Fact, describe_deployment, describe_pod
        from warroom.tui.widgets.inspect import Evidence, Item

        subject = self.subject
        assert subject is not None
        if pod is None:
            return
        rows = list(self.events.snapshot().rows.values()) if self.events else []
        now = self.now()
        pod_events = [r for r in rows if r.kind == "Pod" and subject.covers(r)]
        facts: list[tuple[str, Fact | None]] = [
            ("pod", f) for f in describe_pod(pod, pod_events, now, self.tz)
        ]
        if self._deployment is not None:
            deployment, replicasets = self._deployment
            dep_events = [r for r in rows if r.kind == "Deployment" and subject.covers(r)]
            facts.append(("", None))
            facts += [
                ("deployment", f)
                for f in describe_deployment(deployment, replicasets, dep_events, now, self.tz)
            ]
        items = []
        for index, (kind, fact) in enumerate(facts):
            if fact is None:
                items.append(Item(f"{index}", Text("─" * 20, style="#5f5f5f")))
                continue
            style = "bold #ff5f5f" if fact.bad else ("#8a8a8a" if not fact.evidence else "")
            evidence = None
            if fact.evidence:
                what = f"pod/{subject.pod}" if kind == "pod" else f"deployment/{subject.deployment}"
                evidence = Evidence("describe", what, subject.namespace, fact.evidence)
            items.append(Item(f"{index}", Text(fact.text, style=style), evidence))
        status = Text("kubectl describe pod", style="bold")
        if self._deployment is not None:
            status.append(" and deployment", style="bold")
        if pod is not self.pods.watcher.pod(subject.pod_uid):
            status.append(" · pod gone (as last seen)", style="bold #ffaf00")
        status.append(" · p pins a line", style="#8a8a8a")
        self._inspect("describe").show(status, items, f"Describe · pod/{subject.pod}")

    def _show_rollouts(self) -> None:
        from warroom.kube.rollouts import revisions
        from warroom.tui.widgets.inspect import RolloutsPane

        subject = self.subject
        assert subject is not None
        pane = self.query_one(RolloutsPane)
        if not subject.deployment:
            pane.show(Text(f"pod/{subject.pod} belongs to no deployment", "#ffaf00"), [])
            return
        if self._deployment is None:
            pane.show(Text("reading the rollout history…", "#8a8a8a"), [])
            return
        deployment, replicasets = self._deployment
        found = revisions(deployment, replicasets)
        now = self.now()
        pane.namespace, pane.deployment = subject.namespace, subject.deployment
        items = []
        for revision in reversed(found):
            items.append(self._revision_item(revision, now))
        status = Text()
        current = next((r.number for r in found if r.current), 0)
        status.append(f"revision {current} now", style="bold")
        status.append(" · Enter/U: roll back to the highlighted · p pins", style="#8a8a8a")
        older = [r.number for r in found if r.number < current]
        pane.show(
            status,
            items,
            f"Rollout history · deployment/{subject.deployment}",
            start=str(max(older)) if older else None,
        )

    def _revision_item(self, revision: Revision, now: int) -> Item:
        from warroom.tui.widgets.inspect import Evidence, Item

        subject = self.subject
        assert subject is not None
        prompt = Text()
        prompt.append(f"{revision.number:>3}  ", style="bold")
        prompt.append(revision.image_text, style="bold" if revision.current else "")
        prompt.append(f"  {revision.when(now)}", style="#8a8a8a")
        if revision.replicas:
            prompt.append(f"  {revision.ready}/{revision.replicas} ready", style="#8a8a8a")
        if revision.current:
            prompt.append("  ← now", style="bold #5fd75f")
        prompt.append(f"\n     {revision.change_cause or '<no change-cause>'}")
        what = Evidence(
            "rollout",
            f"deployment/{subject.deployment}",
            subject.namespace,
            revision.evidence(subject.deployment),
            revision.created,
        )
        return Item(str(revision.number), prompt, what, revision.number)

    def _load_deployment(self) -> None:
        subject, gateway = self.subject, self.gateway
        if subject is not None and gateway is not None and subject.deployment:
            self._loaded_at = time.monotonic()
            self._read_deployment(gateway, subject)

    @work(thread=True, exclusive=True, group="cluster-deployment", exit_on_error=False)
    def _read_deployment(self, gateway: Gateway, subject: Subject) -> None:
        """The subject's deployment and its ReplicaSets (describe, history): one read."""
        from warroom.kube import rollouts

        try:
            loaded = rollouts.read(gateway, subject.namespace, subject.deployment)
        except Exception as error:
            self.app.call_from_thread(
                self.notify,
                f"deployment/{subject.deployment}: {error}",
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(self._deployment_loaded, subject, loaded)

    def _deployment_loaded(
        self, subject: Subject, loaded: tuple[dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        if subject == self.subject:
            self._deployment = loaded
            self.look()

    # -- changes offered to the timeline -----------------------------------------------------------

    def _offer(self) -> None:
        """Take the changes the deployment watch saw; offer those people made (not the
        console's own actions) while the incident is open."""
        if self.deployments is None:
            return
        found, self._changes_seen = self.deployments.changes_after(self._changes_seen)
        if not found:
            return
        clock = time.monotonic()
        self._own = [own for own in self._own if own[3] > clock]
        fresh = [
            c
            for c in found
            if not any(
                (c.namespace, c.deployment) == (ns, name) and c.kind in kinds
                for ns, name, kinds, _ in self._own
            )
        ]
        if not fresh or not self.incident_open():
            return
        self.offers += fresh
        said = (
            fresh[-1].text
            if len(fresh) == 1
            else f"{len(fresh)} changes, the last: {fresh[-1].text}"
        )
        self.notify(
            f"{said} — C keeps {'it' if len(self.offers) == 1 else 'them'} in the timeline",
            title="Cluster change seen",
            timeout=8,
            markup=False,
        )
        self._noted()

    def _noted(self) -> None:
        if self.target is None:
            return
        note = Text()
        if self.offers:
            note.append(f"⚑ {len(self.offers)} cluster change", style="bold #ffaf00")
            note.append("s" if len(self.offers) > 1 else "", style="bold #ffaf00")
            note.append(" seen · C keeps them in the timeline", style="#ffaf00")
        self.pods.set_note(note)

    def keep_changes(self) -> int:
        """Record every change on offer as evidence, with the time it was seen."""
        from warroom.core.commands import PinClusterFact, make

        kept = 0
        for change in self.offers:
            subject = f"deployment/{change.deployment}"
            command = make(
                PinClusterFact,
                source="change",
                object=subject,
                namespace=change.namespace,
                context=self.context,
                observed_at=_when(change.at),
                text=change.text.removeprefix(subject).strip(),
            )
            self.post_message(self.Record(command, "Cluster change kept in the timeline"))
            kept += 1
        self.offers.clear()
        self._noted()
        return kept

    # -- what the panes report ------------------------------------------------------------------

    def on_pods_pane_pod_selected(self, message: PodsPane.PodSelected) -> None:
        from warroom.kube.logs import LogOptions

        if message.pod:
            self._about(message.row, message.pod)
            self.logs.follow_pod(message.pod, LogOptions(tail_lines=200))
            self.show("logs")

    def on_pods_pane_inspect(self, message: PodsPane.Inspect) -> None:
        from warroom.kube.logs import LogOptions
        from warroom.tui.widgets.logs import LogScope

        pod = message.pod
        if pod is None:
            return
        self._about(message.row, pod)
        if message.what == "previous":
            self.logs.follow_pod(pod, LogOptions(previous=True, tail_lines=None))
            self.show("logs")
        elif message.what == "deployment":
            self.logs.options = LogOptions(tail_lines=200)
            self.logs.follow_deployment(LogScope.of_pod(pod))
            self.show("logs")
        else:
            self.show({"history": "rollouts"}.get(message.what, message.what))

    def on_logs_pane_line_pinned(self, message: LogsPane.LinePinned) -> None:
        from warroom.core.commands import CommandError, PinLogLine, make

        try:
            command = make(
                PinLogLine,
                pod=message.pod,
                container=message.container or "",
                namespace=message.pod_namespace,
                source_time=kubelet_time(message.source_time),
                text=message.text,
            )
        except CommandError as exc:
            self.notify(f"Not pinned: {exc}", severity="error", markup=False)
            return
        self.post_message(self.Record(command, "Log line pinned to the timeline"))

    def on_logs_pane_closed(self, message: LogsPane.Closed) -> None:
        self.close()

    def on_inspect_pane_closed(self, message: InspectPane.Closed) -> None:
        self.close()

    def on_inspect_pane_pinned(self, message: InspectPane.Pinned) -> None:
        from warroom.core.commands import CommandError, PinClusterFact, make

        evidence: Evidence = message.evidence
        try:
            command = make(
                PinClusterFact,
                source=evidence.source,
                object=evidence.object,
                namespace=evidence.namespace,
                context=self.context,
                observed_at=_when(evidence.observed_at) if evidence.observed_at else None,
                text=evidence.text,
            )
        except CommandError as exc:
            self.notify(f"Not pinned: {exc}", severity="error", markup=False)
            return
        self.post_message(self.Record(command, "Pinned to the timeline as evidence"))
        self.notify(
            "pinned to the timeline as evidence", title=evidence.source.title(), markup=False
        )

    def on_inspect_pane_undo_to(self, message: InspectPane.UndoTo) -> None:
        self.pods.undo_to(message.where, message.deployment, message.revision)

    def on_pods_pane_action_confirmed(self, message: PodsPane.ActionConfirmed) -> None:
        """What the action is about to change is the console's own doing (recorded with its
        outcome), not a change to offer: noted before the request leaves."""
        change = message.change
        kinds = KINDS_OF.get(change.action, set())
        until = time.monotonic() + OWN_CHANGE
        self._own.append((change.namespace, change.deployment, kinds, until))

    def on_pods_pane_action_done(self, message: PodsPane.ActionDone) -> None:
        from warroom.core.commands import RecordAction, make

        r = message.result
        change = r.change
        if change is not None:
            description = (
                f"{change.action.capitalize()} of deployment/{change.deployment}"
                f" in {change.namespace}"
            )
            if change.to_revision is not None:
                description += f" to revision {change.to_revision}"
            if r.ok:
                self._looked = ()
            else:  # nothing changed: a change seen there now is someone else's
                self._own = [
                    own for own in self._own if own[:2] != (change.namespace, change.deployment)
                ]
        else:
            description = r.message
        command = make(
            RecordAction,
            description=description,
            command=change.command if change else "",
            result="done" if r.ok else r.message,
            ok=r.ok,
        )
        self.post_message(self.Record(command, "Recorded in the timeline"))
        self.notify(
            r.message,
            title="Done" if r.ok else "Failed",
            severity="information" if r.ok else "error",
            markup=False,
        )


def _when(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1_000_000_000, UTC)


def kubelet_time(text: str) -> str | None:
    """A kubelet timestamp (RFC 3339, nanoseconds) as ISO 8601 with microseconds, or None."""
    from warroom.core.rfc3339 import parse_datetime

    if not text:
        return None
    try:
        return parse_datetime(text).isoformat()
    except ValueError:
        return None
