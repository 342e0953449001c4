"""The update composer: pick a template, edit the pre-filled text, preview, post.

`u` opens it on the template the status suggests, ctrl+s asks to post, Enter posts: three
keystrokes to a posted update. Under the title it says which channels will receive it (for
the template's audience), and ctrl+r shows the dry run: the exact request each channel would
receive, built by whoever delivers (this machine's channels, or the server's), secrets
redacted. Templates are untrusted: they render in `warroom.sandbox`'s
worker process (a thread here only waits for it), bounded in time, output and memory. Until a
render arrives the body is empty and nothing can be posted; a failed render shows its error
in place of the preview and cannot be posted either. Esc or another template kills a render
in flight, so a hostile one stops burning CPU and cannot hold the console's exit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from warroom import sandbox
from warroom.core.templates import Template
from warroom.core.text import clean
from warroom.tui.delivery_text import (
    DryRun,
    Routing,
    confirmation,
    destination,
    dry_run_text,
)
from warroom.tui.screens.dialogs import ConfirmDialog
from warroom.tui.steps import Flow, Load, Read

DryRunner = Callable[[str, str, str], Sequence[DryRun]]
"""(text, audience, template) -> what each channel would receive; blocking (a worker runs
it); ValueError with one line when it cannot be shown."""


@dataclass(frozen=True)
class Draft:
    """What the composer hands back to be recorded."""

    template: str
    audience: str
    body: str


class Composer(ModalScreen[Draft | None]):
    class RenderDone(Message):
        """A render finished (posted from the thread that waited for it)."""

        def __init__(self, job: sandbox.RenderJob, result: sandbox.Rendered) -> None:
            super().__init__()
            self.job = job
            self.result = result

    BINDINGS = [
        Binding("ctrl+s", "post", "Post", priority=True),
        Binding("ctrl+r", "dry_run", "Dry run", priority=True),
        Binding("ctrl+y", "copy", "Copy", priority=True),
        Binding("ctrl+t", "templates", "Templates", priority=True),
        Binding("escape", "cancel", "Close"),
    ]

    def __init__(
        self,
        templates: list[Template],
        chosen: str,
        fields: dict[str, str],
        renderer: sandbox.Renderer | None = None,
        routing: Routing | None = None,
        dry_run: DryRunner | None = None,
        dry_run_where: str = "",
    ) -> None:
        super().__init__()
        self.routing = routing or Routing()
        self.dry_run = dry_run
        self.dry_run_where = dry_run_where
        """Who builds the dry run (this machine, or the server), in a few words."""
        self.templates = {t.key: t for t in templates}
        self.chosen = chosen if chosen in self.templates else next(iter(self.templates))
        self.fields = fields
        self.renderer = renderer or sandbox.shared()
        self.job: sandbox.RenderJob | None = None  # the render the body waits for
        self.error: str | None = None
        self.rendered = ""
        """The text as the template rendered it: an edited body differs from it."""

    def compose(self) -> ComposeResult:
        with Vertical(id="composer"):
            yield Label("", id="composer-title", classes="dialog-title")
            yield Label("", id="composer-channels")
            with Horizontal():
                yield OptionList(
                    *(Option(Text(t.name), id=t.key) for t in self.templates.values()),
                    id="composer-templates",
                )
                with Vertical(id="composer-main"):
                    yield TextArea("", id="composer-body", soft_wrap=True)
                    yield Static("", id="composer-preview")
            yield Label(
                "ctrl+s post · ctrl+r dry run · ctrl+y copy · ctrl+t templates · Esc close",
                classes="dialog-help",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = list(self.templates).index(self.chosen)
        self._load(self.chosen)
        self.query_one(TextArea).focus()

    @property
    def template(self) -> Template:
        return self.templates[self.chosen]

    @property
    def body(self) -> str:
        return self.query_one(TextArea).text

    @property
    def rendering(self) -> bool:
        return self.job is not None

    def _load(self, key: str) -> None:
        """Show the template's name, forget the previous text, and render the new one."""
        self.chosen = key
        t = self.template
        self.query_one("#composer-title", Label).update(Text(f"Compose: {t.name} → {t.audience}"))
        self._show_channels()
        self._stop_rendering()
        self.error = None
        self.job = self.renderer.job(t.source, self.fields)
        body = self.query_one(TextArea)
        body.read_only = True
        body.load_text("")
        self._preview()
        self._wait_for(self.job)

    def set_routing(self, routing: Routing) -> None:
        """The routes were read (again) while the composer is open."""
        self.routing = routing
        self._show_channels()

    def _show_channels(self) -> None:
        """Which channels will receive the update, for the template's audience."""
        where, reach = destination(self.routing, self.template.audience)
        line = Text("Goes to: " if reach == "known" else "", style="#8a8a8a")
        line.append(where, style="bold #5fd787" if reach == "known" else "bold #ffaf00")
        self.query_one("#composer-channels", Label).update(line)

    def _stop_rendering(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None

    @work(thread=True, group="render", exit_on_error=False)
    def _wait_for(self, job: sandbox.RenderJob) -> None:
        """The worker process renders; this thread only waits (never past the deadline)."""
        result = job.result()
        if not job.cancelled:
            self.post_message(self.RenderDone(job, result))

    def on_composer_render_done(self, message: Composer.RenderDone) -> None:
        if message.job is not self.job:  # replaced or cancelled meanwhile
            return
        self.job = None
        self.error = message.result.error
        self.rendered = message.result.text
        body = self.query_one(TextArea)
        body.load_text(message.result.text)
        body.read_only = self.error is not None
        self._preview()

    def on_text_area_changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        preview = Text()
        if self.rendering:
            preview.append("rendering…", style="#8a8a8a")
        elif self.error:
            preview.append(self.error, style="bold #ff5f5f")
        else:
            preview.append(f"Preview ({self.template.audience}):\n", style="#8a8a8a")
            preview.append(clean(self.body))
        self.query_one("#composer-preview", Static).update(preview)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._load(event.option.id or self.chosen)
        self.query_one(TextArea).focus()

    def action_templates(self) -> None:
        self.query_one(OptionList).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.body)
        self.notify("Copied to the clipboard")

    def action_post(self) -> None:
        if self.rendering:
            self.notify("The template is still rendering", severity="warning")
            return
        if self.error:
            self.notify("The template did not render: nothing to post", severity="error")
            return
        body = self.body.strip()
        if not body:
            self.notify("Nothing to post: the text is empty", severity="error")
            return
        t = self.template
        where, style = confirmation(self.routing, t.audience)
        question = Text()
        question.append(f"Post this {t.name.lower()} for {t.audience}?\n")
        question.append(f"{where}\n\n", style=style)
        question.append(clean(body[:600]) + ("…" if len(body) > 600 else ""), style="#d0d0d0")
        question.append("\n\nThe update cadence restarts from now.", style="#8a8a8a")

        def answer(yes: object) -> None:
            if yes:
                self.dismiss(Draft(t.key, t.audience, body))

        self.app.push_screen(ConfirmDialog("Post update", question, "post"), answer)

    def action_dry_run(self) -> None:
        """The exact request each channel would receive, in a view of its own (Esc back)."""
        from warroom.tui.screens.flow import FlowScreen

        if self.rendering or self.error or not self.body.strip():
            self.notify("Nothing to show yet: the text is empty", severity="warning")
            return
        if self.dry_run is None:
            self.notify("No dry run here", severity="warning")
            return
        t, body, run = self.template, self.body.strip(), self.dry_run
        flow = _dry_run(lambda: run(body, t.audience, t.key), self.dry_run_where)
        first = next(flow)
        self.app.push_screen(FlowScreen(flow, first))

    @property
    def edited(self) -> bool:
        """Whether the person changed the text: closing then throws their work away."""
        return not self.rendering and self.body.strip() != self.rendered.strip()

    def action_cancel(self) -> None:
        """Close; an edited update is only thrown away once confirmed."""
        if not self.edited:
            self._close()
            return
        question = Text("Throw away this edited update? It was not posted.")

        def answer(yes: object) -> None:
            if yes:
                self._close()

        self.app.push_screen(ConfirmDialog("Discard update", question, "discard"), answer)

    def _close(self) -> None:
        self._stop_rendering()
        self.dismiss(None)

    def on_unmount(self) -> None:
        """Closed any way (the app quitting too): a render in flight is killed, not waited."""
        self._stop_rendering()


def _dry_run(fetch: Callable[[], Sequence[DryRun]], where: str) -> Flow:
    got = yield Load("the dry run", fetch)
    if isinstance(got, Exception):
        body = Text(f"The dry run cannot be shown: {got}", style="bold #ff5f5f")
    else:
        body = dry_run_text(got, where)
    yield Read("Dry run: what each channel would receive", body)
    return None
