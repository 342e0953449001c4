"""The update composer: pick a template, edit the pre-filled text, preview, post.

`u` opens it on the template the status suggests, ctrl+s asks to post, Enter posts: three
keystrokes to a posted update. Templates render in jinja2's sandbox in a worker thread, so a
hostile template can neither run code nor freeze the screen; an error shows in the preview.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from warroom.core.templates import Template, render
from warroom.core.text import clean
from warroom.tui.screens.dialogs import ConfirmDialog


@dataclass(frozen=True)
class Draft:
    """What the composer hands back to be recorded."""

    template: str
    audience: str
    body: str


class Composer(ModalScreen[Draft | None]):
    BINDINGS = [
        Binding("ctrl+s", "post", "Post", priority=True),
        Binding("ctrl+y", "copy", "Copy", priority=True),
        Binding("ctrl+t", "templates", "Templates", priority=True),
        Binding("escape", "cancel", "Close"),
    ]

    def __init__(self, templates: list[Template], chosen: str, fields: dict[str, str]) -> None:
        super().__init__()
        self.templates = {t.key: t for t in templates}
        self.chosen = chosen if chosen in self.templates else next(iter(self.templates))
        self.fields = fields
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="composer"):
            yield Label("", id="composer-title", classes="dialog-title")
            with Horizontal():
                yield OptionList(
                    *(Option(Text(t.name), id=t.key) for t in self.templates.values()),
                    id="composer-templates",
                )
                with Vertical(id="composer-main"):
                    yield TextArea("", id="composer-body", soft_wrap=True)
                    yield Static("", id="composer-preview")
            yield Label(
                "ctrl+s post · ctrl+y copy · ctrl+t templates · Esc close", classes="dialog-help"
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

    def _load(self, key: str) -> None:
        self.chosen = key
        t = self.template
        self.query_one("#composer-title", Label).update(Text(f"Compose: {t.name} → {t.audience}"))
        self._render_template(t.source)

    @work(thread=True, exclusive=True, group="render")
    def _render_template(self, source: str) -> None:
        text, error = render(source, self.fields)
        self.app.call_from_thread(self._rendered, text, error)

    def _rendered(self, text: str, error: str | None) -> None:
        self.error = error
        self.query_one(TextArea).load_text(text)
        self._preview()

    def on_text_area_changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        preview = Text()
        if self.error:
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
        body = self.body.strip()
        if not body:
            self.notify("Nothing to post: the text is empty", severity="error")
            return
        t = self.template
        question = Text()
        question.append(f"Record this {t.name.lower()} as posted to {t.audience}?\n\n")
        question.append(body[:600] + ("…" if len(body) > 600 else ""), style="#d0d0d0")
        question.append("\n\nThe update cadence restarts from now.", style="#8a8a8a")

        def answer(yes: bool | None) -> None:
            if yes:
                self.dismiss(Draft(t.key, t.audience, body))

        self.app.push_screen(ConfirmDialog("Post update", question, "post"), answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
