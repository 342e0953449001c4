"""Every key's action. Each asks what it needs through a dialog, then records events.

Mixed into `WarroomApp`; kept apart so the app file stays about threads and layout.
Dialogs are imported in the actions that open them: their Textual widgets (Input,
SelectionList, OptionList) cost ~20 ms of imports that the first frame does not need.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import SystemCommand
from textual.screen import Screen

from warroom.core import clock
from warroom.core.describe import conflict_sides, summarize
from warroom.core.events import Event
from warroom.core.export.markdown import channel_name, to_markdown
from warroom.core.ids import new_id
from warroom.core.policy import MILESTONES, Status
from warroom.core.state import transition_warning
from warroom.core.text import clean, one_line, slug
from warroom.core.timeparse import parse_date, parse_when
from warroom.files import write_atomically
from warroom.store import TimelineFilter
from warroom.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from warroom.tui.app import WarroomApp

    Base = WarroomApp
else:
    Base = object


class Actions(Base):
    def _need_state(self) -> bool:
        if self.state is None:
            self.notify("No incident open: press D to declare one", severity="error")
            return False
        return True

    def _typed_time(self, values: dict[str, str] | None) -> datetime | None:
        """The time typed in a form's `at` field, or None (a bad one is said, not raised)."""
        if not values:
            return None
        try:
            return parse_when(values["at"], self.now(), self.tz)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return None

    def _saved(self, message: str):
        def done(events: list[Event]) -> None:
            self.notify(message, title="Saved", timeout=3)

        return done

    # -- recording ----------------------------------------------------------------------------

    def action_note(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        if not self._need_state():
            return

        def save(values: dict[str, str]) -> None:
            self.record("note", {"text": values["text"]}, self._saved("Note added"))

        self.push_screen(FormDialog("Add a note", [FormField("text", "Note")], submit=save))

    def action_update(self) -> None:
        if self._need_state():
            self._open_composer(self.state)

    @work(thread=True, exclusive=True, group="composer")
    def _open_composer(self, state) -> None:
        """Template files are read off the UI thread; the render worker starts meanwhile."""
        from warroom import sandbox
        from warroom.core.templates import context
        from warroom.templates import load_templates

        sandbox.shared().start()  # spawns only: its start-up overlaps the composer's
        templates, problems = load_templates()
        fields = context(state, self.policy, self.now(), self.tz)
        self.call_from_thread(self._show_composer, state, templates, problems, fields)

    def _show_composer(self, state, templates, problems, fields) -> None:
        from warroom.core.templates import suggested
        from warroom.tui.screens.composer import Composer, Draft

        for problem in problems:
            self.notify(problem, title="Template ignored", severity="warning")

        def post(draft: Draft | None) -> None:
            if draft is None or self.state is None:
                return
            every = self.policy.severity(self.state.current_severity).update_every
            payload = {
                "audience": draft.audience,
                "template": draft.template,
                "body": draft.body,
                "next_update_at": (self.now() + every).isoformat(),
            }
            self.copy_to_clipboard(draft.body)
            self.record("update_posted", payload, self._saved("Update recorded and copied"))

        self.push_screen(Composer(templates, suggested(state), fields), post)

    def action_status(self) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog, ConfirmDialog

        if not self._need_state():
            return
        current = self.state.current_status
        options = [(s.value, s.value.title()) for s in Status]

        def chosen(value: str | None) -> None:
            if not value or value == current:
                return
            warning = transition_warning(current, value)

            def save(ok: bool | None = True) -> None:
                if ok:
                    msg = f"Status {value}" + (f" (note: {warning})" if warning else "")
                    self.record("status_changed", {"status": value}, self._saved(msg))

            if value == Status.RESOLVED.value:
                done = sum(self.state.checked(i) for i in self.policy.checklist)
                body = Text(
                    f"Mark the incident resolved? Checklist {done}/"
                    f"{len(self.policy.checklist)} done; the update cadence stops."
                )
                self.push_screen(ConfirmDialog("Resolve incident", body, "resolve"), save)
            else:
                save()

        self.push_screen(ChoiceDialog("Status", options, current), chosen)

    def action_severity(self) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog

        if not self._need_state():
            return
        options = [
            (
                level.name,
                f"{level.name} {level.label} — updates every "
                f"{clock.format_duration(level.update_every)}",
            )
            for level in self.policy.severities
        ]

        def chosen(value: str | None) -> None:
            if value and value != self.state.current_severity:
                self.record("severity_changed", {"severity": value}, self._saved(f"{value}"))

        self.push_screen(ChoiceDialog("Severity", options, self.state.current_severity), chosen)

    def action_assign(self) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog, FormDialog, FormField

        if not self._need_state():
            return
        options = []
        for role in self.policy.roles:
            holder = self.state.holder(role.key)
            options.append((role.key, f"{role.name} — {holder.value if holder else 'unassigned'}"))

        def role_chosen(role: str | None) -> None:
            if not role:
                return
            name = self.policy.role_name(role)
            holder = self.state.holder(role)

            def person_given(values: dict[str, str] | None) -> None:
                if values is None:
                    return
                person = values["person"]
                if person:
                    payload = {"role": role, "person": person}
                    self.record("role_assigned", payload, self._saved(f"{person} is {name}"))
                elif holder:
                    payload = {"role": role, "person": holder.value}
                    self.record("role_released", payload, self._saved(f"{name} released"))

            field = FormField("person", f"{name} (empty: release)", self.actor, required=False)
            self.push_screen(FormDialog(f"Assign {name}", [field]), person_given)

        self.push_screen(ChoiceDialog("Assign a role", options), role_chosen)

    def action_take_command(self) -> None:
        from warroom.tui.screens.dialogs import ConfirmDialog

        if not self._need_state():
            return
        holder = self.state.holder("incident_commander")
        if holder and holder.value == self.actor:
            self.notify("You already have command")
            return
        payload = {"role": "incident_commander", "person": self.actor}
        save = self._saved("You have command")
        if holder is None:
            self.record("role_assigned", payload, save)
            return
        body = Text(f"Take Incident Commander from {holder.value}? The handoff is recorded.")

        def answer(ok: bool | None) -> None:
            if ok:
                self.record("role_assigned", payload, save)

        self.push_screen(ConfirmDialog("I have command", body, "take command"), answer)

    def action_pin(self) -> None:
        event = self.main.query_one(Timeline).selected
        if event is None or self.state is None:
            return
        pinned = not self.state.is_pinned(event.id)
        self.record(
            "pin",
            {"target": event.id, "pinned": pinned},
            self._saved("Pinned" if pinned else "Unpinned"),
        )

    def action_milestone(self) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog, FormDialog, FormField

        if not self._need_state():
            return
        options = []
        for name in MILESTONES:
            at = self.state.milestone(name)
            when = at.astimezone(self.tz).strftime("%H:%M") if at else "not set"
            options.append((name, f"{name.replace('_', ' ')} — {when}"))

        def chosen(name: str | None) -> None:
            if not name:
                return

            def when_given(values: dict[str, str] | None) -> None:
                at = self._typed_time(values)
                if at is None:
                    return
                self.record(
                    "milestone_set",
                    {"milestone": name, "at": at.isoformat()},
                    self._saved(f"{name.replace('_', ' ')} at {at:%H:%M}"),
                )

            field = FormField("at", "When (now, 14:05, -15m, ISO)", "now")
            self.push_screen(FormDialog(f"Milestone: {name}", [field]), when_given)

        self.push_screen(ChoiceDialog("Milestone", options), chosen)

    def action_checklist(self) -> None:
        from warroom.tui.screens.dialogs import ChecklistDialog

        if not self._need_state():
            return
        items = [*self.policy.checklist, *self.policy.post_resolution]
        checked = {i for i in items if self.state.checked(i)}

        def save(changes: dict[str, bool] | None) -> None:
            for item, value in (changes or {}).items():
                self.record("checklist_checked", {"item": item, "checked": value})
            if changes:
                self.notify(f"{len(changes)} checklist item(s) saved", title="Saved")

        self.push_screen(ChecklistDialog("Resolution checklist", items, checked), save)

    def action_action_item(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        if not self._need_state():
            return
        fields = [
            FormField("text", "Action item"),
            FormField("owner", "Owner", required=False),
            FormField("due", "Due (2026-12-01, +7d, tomorrow)", required=False),
        ]

        def save(values: dict[str, str] | None) -> None:
            if not values:
                return
            try:
                today = self.now().astimezone(self.tz).date()
                due = parse_date(values["due"], today).isoformat() if values["due"] else None
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            payload = {"text": values["text"], "owner": values["owner"], "due": due}
            self.record("action_item", payload, self._saved("Action item added"))

        self.push_screen(FormDialog("Action item", fields), save)

    def action_snooze(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        if not self._need_state():
            return
        fields = [FormField("minutes", "Snooze for (minutes)", "15"), FormField("reason", "Why")]

        def save(values: dict[str, str] | None) -> None:
            if not values:
                return
            try:
                minutes = float(values["minutes"])
                if not 0 < minutes <= 24 * 60:
                    raise ValueError
            except ValueError:
                self.notify("Minutes must be a number from 1 to 1440", severity="error")
                return
            until = self.now() + timedelta(minutes=minutes)
            payload = {"until": until.isoformat(), "reason": values["reason"]}
            self.record("cadence_snoozed", payload, self._saved("Update cadence snoozed"))

        self.push_screen(FormDialog("Snooze the update cadence", fields), save)

    # -- navigation ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        field = FormField(
            "query", "kind:note actor:bob words (empty: all)", self._filter_text(), required=False
        )

        def apply(values: dict[str, str] | None) -> None:
            if values is None:
                return
            kinds, actor, words = [], "", []
            for token in values["query"].split():
                if token.startswith("kind:"):
                    kinds.append(token[5:])
                elif token.startswith("actor:"):
                    actor = token[6:]
                else:
                    words.append(token)
            self.filter = TimelineFilter(tuple(kinds), actor, " ".join(words))
            self.main.query_one(Timeline).follow = True
            self.poll(force=True)

        self.push_screen(FormDialog("Filter the timeline", [field]), apply)

    def action_jump(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        if not self._need_state():
            return

        def go(values: dict[str, str] | None) -> None:
            at = self._typed_time(values)
            if at is not None:
                self._jump(at)

        self.push_screen(FormDialog("Jump to time", [FormField("at", "Time (14:05, -1h)")]), go)

    @work(thread=True, group="jump")
    def _jump(self, at) -> None:
        if self.incident_id is None:
            return
        index = self.store.position_at(self.incident_id, at, self.filter)
        self.call_from_thread(self.main.query_one(Timeline).go_to, index)

    def action_toggle_tz(self) -> None:
        """Cycle the times shown: configured zone, UTC, this machine's local time."""
        zones: dict[str, tzinfo] = {}
        for zone in (self.settings.tz, ZoneInfo("UTC"), self.local_tz()):
            zones.setdefault(str(zone), zone)
        names = list(zones)
        at = names.index(str(self.tz)) if str(self.tz) in names else -1
        self.tz = zones[names[(at + 1) % len(names)]]
        self.main.query_one(Timeline).set_timezone(self.tz)
        self.notify(f"Times in {self.tz}")
        self.tick()

    def action_toggle_side(self) -> None:
        """Show or hide the roles/cadence column (collapsed by default on narrow screens)."""
        self.main.toggle_class("-side")

    def action_history(self) -> None:
        from warroom.tui.screens.dialogs import TextDialog

        if not self._need_state():
            return
        s = self.state
        text = Text()
        fmt = "%Y-%m-%d %H:%M"
        text.append("Role handoffs\n", style="bold")
        for role in self.policy.roles:
            for t in s.role_history(role.key):
                end = t.end.astimezone(self.tz).strftime(fmt) if t.end else "now"
                text.append(
                    f"  {role.name:<20} {one_line(t.person, 16):<16} "
                    f"{t.start.astimezone(self.tz):{fmt}} → {end}\n"
                )
        text.append("\nStatus changes\n", style="bold")
        for tr in s.transitions():
            text.append(
                f"  {tr.at.astimezone(self.tz):{fmt}}  {tr.old or '—'} → {tr.new} "
                f"({one_line(tr.actor, 16)})"
            )
            if tr.warning:
                text.append(f"  ⚠ {tr.warning}", style="#ffaf00")
            text.append("\n")
        conflicts = s.conflicts()
        if conflicts:
            text.append("\nConcurrent changes (kept the latest by clock)\n", style="bold")
            for c in conflicts:
                sides = conflict_sides(
                    [f"{one_line(str(e.value), 20)} ({one_line(e.actor, 16)})" for e in c.entries],
                    limit=10,
                )
                text.append(f"  {c.field}: {sides} → kept {one_line(str(c.winner.value), 20)}\n")
        self.push_screen(TextDialog("History", text))

    def action_help(self) -> None:
        from warroom.tui.screens.dialogs import TextDialog

        text = Text()
        for binding in self.BINDINGS:
            keys = self._key_for(binding)
            text.append(f"  {keys:<14}", style="bold #ffaf00")
            text.append(f"{binding.description}\n")
        text.append("\n  ↑↓ PgUp PgDn Home End  move in the timeline\n")
        text.append("  ctrl+p                 command palette (every action)\n")
        self.push_screen(TextDialog("Keys", text))

    def _key_for(self, binding) -> str:
        keymap = getattr(self, "settings", None)
        override = keymap.keys.get(binding.id) if keymap and binding.id else None
        key = override or binding.key
        return {"question_mark": "?"}.get(key, key)

    # -- cluster --------------------------------------------------------------------------------

    def action_cluster(self) -> None:
        """Switch the pods and logs panes to another context and namespace (or all)."""
        if self.kube is None:
            self.notify(
                "No kubeconfig: run with --kubeconfig or KUBECONFIG (or start `warroom sim`)",
                severity="warning",
            )
            return
        from warroom.tui.widgets.pods import PodsPane

        self._list_contexts(self.main.query_one(PodsPane).gateway)

    @work(thread=True, exclusive=True, group="cluster-switch")
    def _list_contexts(self, gateway) -> None:
        from warroom.kube.gateway import GatewayError

        try:
            names, current = gateway.contexts()
        except GatewayError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(self._pick_context, gateway, names, current)

    def _pick_context(self, gateway, names: list[str], current: str | None) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog

        def chosen(context: str | None) -> None:
            if context:
                self._list_namespaces(gateway.switch(context=context, namespace=None), context)

        options = [(name, name) for name in names]
        self.push_screen(ChoiceDialog("Kubernetes context", options, current), chosen)

    @work(thread=True, exclusive=True, group="cluster-switch")
    def _list_namespaces(self, gateway, context: str) -> None:
        from warroom.kube.gateway import GatewayError

        try:
            names, current = gateway.namespaces(), gateway.namespace()
        except GatewayError as exc:
            self.call_from_thread(self.notify, f"{context}: {exc}", severity="error")
            return
        self.call_from_thread(self._pick_namespace, context, names, current)

    def _pick_namespace(self, context: str, names: list[str], current: str) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog
        from warroom.tui.widgets.logs import LogsPane
        from warroom.tui.widgets.pods import PodsPane

        def chosen(namespace: str | None) -> None:
            if not namespace:
                return
            every = namespace == "*"
            pods = self.main.query_one(PodsPane)
            pods.switch(
                context=context, namespace=None if every else namespace, all_namespaces=every
            )
            self.main.query_one(LogsPane).gateway = pods.gateway
            self.cluster_status = f"{context}/{'all namespaces' if every else namespace}"
            self.tick()

        options = [("*", "(all namespaces)"), *((name, name) for name in names)]
        self.push_screen(ChoiceDialog(f"Namespace in {context}", options, current), chosen)

    # -- incidents ------------------------------------------------------------------------------

    def choose_incident(self) -> None:
        self._list_incidents()

    @work(thread=True, exclusive=True, group="incidents")
    def _list_incidents(self) -> None:
        rows = []
        for incident_id in self.store.incident_ids():
            s = self.store.state(incident_id)
            rows.append((incident_id, s))
        self.call_from_thread(self._pick_incident, rows)

    def _pick_incident(self, rows) -> None:
        from warroom.tui.screens.dialogs import ChoiceDialog

        open_rows = [(i, s) for i, s in rows if not s.is_resolved]
        if self.incident_id is None and len(open_rows) == 1:
            self.switch_to(open_rows[0][0])
            return
        if not rows:
            self.action_declare()
            return
        options = [
            (i, f"{s.current_severity} {s.current_status:<13} {one_line(s.title.value or '', 60)}")
            for i, s in rows
        ]

        def chosen(value: str | None) -> None:
            if value:
                self.switch_to(value)
            elif self.incident_id is None and open_rows:
                self.switch_to(open_rows[0][0])

        self.push_screen(ChoiceDialog("Open incident", options, self.incident_id), chosen)

    def action_switch(self) -> None:
        self.choose_incident()

    def action_declare(self) -> None:
        from warroom.tui.screens.dialogs import FormDialog, FormField

        fields = [
            FormField("title", "Title"),
            FormField("severity", "Severity (SEV1..SEV4 or P0..P3)", "SEV2"),
            FormField("impact", "Impact (what is broken, for whom)", required=False),
        ]

        def save(values: dict[str, str] | None) -> None:
            if not values:
                return
            try:
                level = self.policy.severity(values["severity"])
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            incident = new_id()
            items: list[tuple[str, dict[str, Any]]] = [
                (
                    "declared",
                    {"title": values["title"], "severity": level.name, "impact": values["impact"]},
                ),
                ("role_assigned", {"role": "incident_commander", "person": self.actor}),
            ]

            def declared(events: list[Event]) -> None:
                self.switch_to(incident)
                self.notify(f"{level.name} declared; you have command", title="Declared")

            self.record_many(incident, items, declared)

        self.push_screen(FormDialog("Declare an incident", fields), save)

    # -- export -----------------------------------------------------------------------------------

    def action_export(self) -> None:
        if self._need_state():
            self._export(self.incident_id)

    @work(thread=True, exclusive=True, group="export")
    def _export(self, incident_id: str) -> None:
        state = self.store.state(incident_id)
        text = to_markdown(state, self.store.events(incident_id), self.policy, self.tz)
        day = channel_name(state, self.tz).removeprefix("#incident-")[:10]
        path = Path.cwd() / f"postmortem-{day}-{slug(state.title.value or '', 30)}.md"
        try:
            write_atomically(path, text)
        except OSError as exc:
            self.call_from_thread(self.notify, f"Export failed: {exc}", severity="error")
            return
        self.call_from_thread(
            self.notify, f"Postmortem written to {path}", title="Exported", timeout=10
        )

    # -- selection and palette ------------------------------------------------------------------

    def on_timeline_selected(self, message: Timeline.Selected) -> None:
        if not self.screen_stack:
            return
        event = message.event
        text = Text()
        if event is not None:
            text.append(f"{event.time.astimezone(self.tz):%Y-%m-%d %H:%M:%S %Z}\n", "#8a8a8a")
            text.append(f"{one_line(event.actor, 30)} · {event.kind}\n", "#87afd7")
            body = event.payload.get("body") or event.payload.get("text")
            text.append(clean(body) if isinstance(body, str) else summarize(event, 2000))
        self.main.query_one("#details").update(text)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.action in ("quit", "help"):
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.description} (key: {self._key_for(binding)})",
                lambda action=binding.action: self.run_action(action),
            )
