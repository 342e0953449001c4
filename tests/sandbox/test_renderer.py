"""The template renderer's worker process: limits, cancellation, and its ties to the parent.

Real processes throughout; psutil watches them. Deadlines here are generous bounds on "does
it end at all", never measurements.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psutil
import pytest

from warroom.core.policy import DEFAULT_POLICY
from warroom.core.templates import DEFAULT_TEMPLATES, context
from warroom.demo import build
from warroom.sandbox import CANCELLED, Rendered, Renderer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux limits")

NESTED = "{% set L = range(100000)|list %}{% for a in L %}{% for b in L %}{% endfor %}{% endfor %}"
# Without a limit these reach 256 MiB (list of 2**25 pointers) and 256 MiB (a 2**28-char str)
LIST_GROWTH = (
    "{% set ns = namespace(L=[1]) %}{% for i in range(25) %}{% set ns.L = ns.L + ns.L %}"
    "{% endfor %}{{ ns.L|length }}"
)
STRING_GROWTH = (
    '{% set ns = namespace(s="x") %}{% for i in range(28) %}{% set ns.s = ns.s ~ ns.s %}'
    "{% endfor %}{{ ns.s|length }}"
)
ENDS = 60.0  # seconds: "it ends", on a loaded 2-core CI machine


def until(condition: Callable[[], bool], timeout: float = ENDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def busy(pid: int, seconds: float = 0.3) -> Callable[[], bool]:
    """True once the process has burnt `seconds` of CPU more than it had when asked."""
    proc = psutil.Process(pid)
    start = sum(proc.cpu_times()[:2])
    return lambda: sum(proc.cpu_times()[:2]) - start > seconds


def in_thread(fn: Callable[[], Rendered]) -> tuple[threading.Thread, list[Rendered]]:
    out: list[Rendered] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def finished(fn: Callable[[], Rendered], timeout: float = ENDS) -> Rendered:
    thread, out = in_thread(fn)
    thread.join(timeout)
    assert out, "the render did not end"
    return out[0]


@pytest.fixture
def renderer() -> Iterator[Renderer]:
    with Renderer(timeout=1.0) as r:
        assert r.warm()
        yield r


def test_built_in_templates_render_from_the_incident(renderer):
    from warroom.core.state import IncidentState

    now = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    state = IncidentState(incident_id="01JZDEM0000000000000000000")
    ids = (f"01JZ{n:022d}" for n in range(1, 1000))
    for event in build(now, state.incident_id, ids):
        state.apply(event)
    fields = context(state, DEFAULT_POLICY, now, ZoneInfo("UTC"))
    pid = renderer.pid
    for template in DEFAULT_TEMPLATES:
        text, error = renderer.render(template.source, fields)
        assert error is None, (template.key, error)
        assert "{{" not in text and text.strip()
    text, _ = renderer.render(DEFAULT_TEMPLATES[1].source, fields)
    assert "Severity: SEV2" in text and "Status: Identified" in text
    assert renderer.pid == pid  # one warm worker served them all


def test_text_comes_back_without_terminal_escapes(renderer):
    assert renderer.render("\x1b]52;c;aGk=\x07{{ x }}\x1b[2J", {"x": "ok"}) == ("ok", None)


def test_nested_loops_stop_at_the_deadline_and_their_worker_is_killed(renderer):
    pid = renderer.pid
    result = finished(lambda: renderer.render(NESTED, {}))
    assert result == ("", "template took longer than 1s")
    assert gone(pid)
    assert renderer.render("{{ 6 * 7 }}", {}) == ("42", None)  # a fresh worker took over


def test_growth_ends_in_a_memory_error_and_rss_stays_bounded():
    """Peak RSS of every reaped child, read in a fresh process so no other test's count."""
    script = textwrap.dedent(
        f"""
        import json, resource
        from warroom.sandbox import Renderer
        with Renderer(timeout=30, memory_mib=64) as r:
            out = [r.render(t, {{}}).error for t in ({LIST_GROWTH!r}, {STRING_GROWTH!r})]
            out.append(r.render("{{{{ 1 + 1 }}}}", {{}}).text)
        out.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        print(json.dumps(out))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=ENDS
    )
    assert run.returncode == 0, run.stderr
    list_error, string_error, after, peak_kib = __import__("json").loads(run.stdout)
    assert list_error == string_error == "template used more than 64 MiB"
    assert after == "2"
    # the worker's own size (~30 MiB) plus the 64 MiB budget, never the 256 MiB asked for
    assert peak_kib < 160 * 1024


def test_the_immutable_sandbox_refuses_to_grow_a_list_in_place(renderer):
    _, error = renderer.render("{% set L = [] %}{{ L.append(1) }}", {})
    assert error is not None and "unsafe" in error


def test_output_is_capped_while_it_streams():
    with Renderer(max_output=1000) as r:
        hostile = "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}"
        assert r.render(hostile, {}) == ("", "template output is over 1000 characters")
        assert r.render("{{ 'x' * 1000 }}", {}) == ("x" * 1000, None)


def test_errors_are_one_line_messages_that_keep_markup_literal(renderer):
    _, error = renderer.render('{{ {}["[b]bold[/b]"] }}', {})
    assert error == "template error: 'dict object' has no attribute '[b]bold[/b]'"
    _, error = renderer.render("{% if %}", {})
    assert error == "template error: Expected an expression, got 'end of statement block'"


def test_cancel_kills_a_render_in_flight():
    with Renderer(timeout=600) as r:  # only the cancel can end it
        assert r.warm()
        pid = r.pid
        job = r.job(NESTED, {})
        thread, out = in_thread(job.result)
        until(busy(pid))
        job.cancel()
        thread.join(ENDS)
        assert out == [Rendered("", CANCELLED)]
        assert gone(pid)
        assert r.render("{{ 'still' }} works", {}) == ("still works", None)


def test_a_job_cancelled_before_it_runs_never_starts_a_worker():
    with Renderer() as r:
        job = r.job("{{ 1 }}", {})
        job.cancel()
        assert job.result() == ("", CANCELLED)
        assert r.pid is None


def test_cancelling_a_finished_job_keeps_the_warm_worker(renderer):
    pid = renderer.pid
    job = renderer.job("{{ 1 }}", {})
    assert job.result() == ("1", None)
    job.cancel()
    assert renderer.render("{{ 2 }}", {}) == ("2", None) and renderer.pid == pid


def test_the_worker_has_no_secrets_in_its_environment(monkeypatch):
    monkeypatch.setenv("WARROOM_TOKEN", "s3cret-token")
    with Renderer() as r:
        assert r.warm()
        environ = psutil.Process(r.pid).environ()
        assert "s3cret-token" not in " ".join(environ.values())
        assert psutil.Process(r.pid).cwd() == "/"


PARENT = """
import sys, threading
from warroom.sandbox import Renderer
r = Renderer(timeout=600)
assert r.warm()
job = r.job(sys.argv[1], {})
threading.Thread(target=job.result, daemon=sys.argv[2] == "daemon").start()
print(r.pid, flush=True)
if sys.argv[3] == "wait":
    sys.stdin.read()
"""


@pytest.mark.parametrize("template", ["{{ 1 }}", NESTED], ids=["idle", "rendering"])
def test_the_worker_dies_with_its_parent_killed(template):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, template, "daemon", "wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(parent.stdout.readline())
        if template == NESTED:
            until(busy(pid))
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(ENDS)
        until(lambda: gone(pid))
    finally:
        parent.kill()
        parent.wait()


def test_a_render_in_flight_does_not_hold_the_exit():
    """The main thread returns while a non-daemon thread waits on a hostile render."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, NESTED, "non-daemon", "exit"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(parent.stdout.readline())
        assert parent.wait(ENDS) == 0  # the render's own deadline is 600 s
        until(lambda: gone(pid))
    finally:
        parent.kill()
        parent.wait()


def test_fields_must_be_strings(renderer):
    assert renderer.render("{{ x }}", {"x": 1}).error == "template error: fields must be strings"  # type: ignore[dict-item]
