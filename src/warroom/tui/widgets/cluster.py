"""The cluster row: the pods and logs panes and the flow between them.

It wires the panes together (Enter on a pod follows its logs), turns what they report into
commands for the timeline (a pinned log line, a confirmed playbook action with its outcome)
and switches context and namespace. It posts `Record` for the console to write and
`Described` for the header; it never touches the incident itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message

from warroom.tui.widgets.panels import Panel

if TYPE_CHECKING:
    from collections.abc import Callable

    from warroom.core.commands import Command
    from warroom.kube.gateway import Gateway, Target
    from warroom.tui.widgets.logs import LogsPane
    from warroom.tui.widgets.pods import PodsPane


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
        self, target: Target | None, incident_commander: Callable[[], str | None], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.incident_commander = incident_commander

    def compose(self) -> ComposeResult:
        if self.target is None:
            yield Panel("Pods", id="pods")
            yield Panel("Logs", id="logs")
            return
        from warroom.kube.gateway import Gateway
        from warroom.tui.widgets.logs import LogsPane
        from warroom.tui.widgets.pods import PodsPane

        gateway = Gateway(self.target)
        yield PodsPane(gateway, incident_commander=self.incident_commander, id="pods")
        yield LogsPane(gateway, id="logs")

    def on_mount(self) -> None:
        self.query_one("#pods").border_title = "Pods"
        self.query_one("#logs").border_title = "Logs"
        if self.target is None:
            self._placeholder()
        else:
            self._describe(self.pods.gateway)

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
            label = f"unavailable: {exc}"
        self.post_message(self.Described(label))

    def switch(self, context: str, namespace: str | None, all_namespaces: bool) -> None:
        pods = self.pods
        pods.switch(context=context, namespace=namespace, all_namespaces=all_namespaces)
        self.logs.gateway = pods.gateway
        self.post_message(
            self.Described(f"{context}/{'all namespaces' if all_namespaces else namespace}")
        )

    # -- what the panes report ------------------------------------------------------------------

    def on_pods_pane_pod_selected(self, message: PodsPane.PodSelected) -> None:
        from warroom.kube.logs import LogOptions

        if message.pod:
            self.logs.follow_pod(message.pod, LogOptions(tail_lines=200))

    def on_logs_pane_line_pinned(self, message: LogsPane.LinePinned) -> None:
        from warroom.core.commands import CommandError, PinLogLine, make

        try:
            command = make(
                PinLogLine,
                pod=message.pod,
                container=message.container or "",
                namespace=message.namespace,
                source_time=kubelet_time(message.source_time),
                text=message.text,
            )
        except CommandError as exc:
            self.notify(f"Not pinned: {exc}", severity="error")
            return
        self.post_message(self.Record(command, "Log line pinned to the timeline"))

    def on_pods_pane_action_done(self, message: PodsPane.ActionDone) -> None:
        from warroom.core.commands import RecordAction, make

        r = message.result
        change = r.change
        if change is not None:
            description = (
                f"{change.action.capitalize()} of deployment/{change.deployment}"
                f" in {change.namespace}"
            )
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
        )


def kubelet_time(text: str) -> str | None:
    """A kubelet timestamp (RFC 3339, nanoseconds) as ISO 8601 with microseconds, or None."""
    from warroom.core.rfc3339 import parse_datetime

    if not text:
        return None
    try:
        return parse_datetime(text).isoformat()
    except ValueError:
        return None
