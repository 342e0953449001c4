"""The public page in a real browser: Debian's chromium, driven by Playwright.

Playwright's own browser download cannot work here, so it drives /usr/bin/chromium
(installed by .ci/chromium.sh). Screenshots at phone and desktop width are written to
`$WARROOM_SHOTS` when set (to look at them), else to the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.status.conftest import Responder
from warroom.core.commands import AddNote, PostUpdate

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SECRET = "pw=correct-horse-battery-staple"
HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(2)> **not bold**'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        reason = "Debian's chromium is not installed (run .ci/chromium.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("WARROOM_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def busy_page(responder: Responder) -> None:
    """An active SEV1 through two phases, a hostile post, a resolved SEV3, internal notes."""
    sev1 = responder.declare("Checkout payments failing", "SEV1", ("checkout", "api"))
    responder.run(
        sev1,
        AddNote(text=f"rotating the payment key, {SECRET}"),
        PostUpdate(
            body="Investigating: We are investigating reports of failed payments at checkout."
            " Some customers may be experiencing errors when paying. We will provide updates"
            " as we learn more.",
            audience="status-page",
            template="statuspage-investigating",
        ),
        PostUpdate(
            body="Identified: We have identified the issue affecting checkout and are working"
            " on a resolution.",
            audience="status-page",
            template="statuspage-identified",
        ),
    )
    odd = responder.declare("Search results delayed", "SEV2", ("search",))
    responder.run(
        odd,
        PostUpdate(body=f"Investigating: {HOSTILE}", audience="status-page"),
    )


def test_the_page_at_phone_and_desktop_width(
    browser: Any, responder: Responder, shots: Path
) -> None:
    busy_page(responder)
    url = f"{responder.server}/status"
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size, java_script_enabled=False)
        page = context.new_page()
        page.goto(url)
        page.screenshot(path=str(shots / f"status-{name}.png"), full_page=True)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("banner").count() == 1
        assert page.get_by_role("main").count() == 1
        assert page.get_by_role("contentinfo").count() == 1
        assert page.get_by_role("heading", level=1).all_inner_texts() == ["Example Shop status"]
        assert page.get_by_role("heading", level=2).all_inner_texts() == [
            "Active incidents",
            "Components",
            "Past incidents (last 90 days)",
        ]
        assert page.get_by_role("heading", level=3).all_inner_texts() == [
            "Search results delayed",
            "Checkout payments failing",
        ]
        assert page.get_by_role("status").inner_text() == "Major outage"
        text = page.locator("body").inner_text()
        assert HOSTILE in text  # markup shown as typed
        assert SECRET not in page.content() and "alice" not in text
        # the reading order is the visual order: status, incidents, components, history
        order = [
            text.index(s)
            for s in ("Major outage", "Search results delayed", "Components", "Past incidents")
        ]
        assert order == sorted(order)
        context.close()


def test_layout_and_contrast(browser: Any, responder: Responder) -> None:
    """No sideways scrolling on a phone; every text at least 4.5:1 against its background."""
    busy_page(responder)
    context = browser.new_context(viewport=PHONE)  # scripts only to measure (the page has none)
    page = context.new_page()
    page.goto(f"{responder.server}/status")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    pairs = page.evaluate(
        """() => {
          const bg = (el) => {
            for (; el; el = el.parentElement) {
              const c = getComputedStyle(el).backgroundColor;
              if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
            }
            return 'rgb(255, 255, 255)';
          };
          return [...document.querySelectorAll('h1,h2,h3,p,span,li,time,a')]
            .filter((el) => el.offsetParent !== null && el.innerText.trim())
            .map((el) => [el.tagName + '.' + el.className, getComputedStyle(el).color, bg(el)]);
        }"""
    )
    assert len(pairs) > 10
    low = [(what, fg, bg) for what, fg, bg in pairs if _contrast(fg, bg) < 4.5]
    assert low == []
    context.close()


def test_no_script_runs_even_with_javascript_on(browser: Any, responder: Responder) -> None:
    busy_page(responder)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{responder.server}/status")
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    assert page.get_by_text(HOSTILE).count() == 1
    assert dialogs == []
    context.close()


def _contrast(fg: str, bg: str) -> float:
    def luminance(css: str) -> float:
        parts = [float(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        lin = [
            (c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
            for c in parts
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
