"""The worker process: jinja2's immutable sandbox under OS limits, one request at a time.

Run as `python -m warroom.sandbox.worker MEMORY_MIB` by `renderer.py`, which owns it. It sets
its own limits once its imports are done (no `preexec_fn`: unsafe in a threaded parent), and
a thread reads stdin so that EOF, the parent gone, ends it even in the middle of a render.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import threading
from typing import Any

from warroom.sandbox.renderer import DEFAULT_MEMORY_MIB, MAX_ERROR


def _vm_size() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            found = re.search(r"^VmSize:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(found[1]) * 1024 if found else None


def _limit_self(memory_mib: int) -> int | None:
    """OS limits on this process; the address-space ceiling (None where it cannot be set)."""
    try:
        import resource
    except ImportError:  # not POSIX: the deadline still holds
        return None
    for which, value in (
        ("RLIMIT_CORE", 0),  # SIGXCPU would dump core
        ("RLIMIT_FSIZE", 0),  # no file writes at all
        ("RLIMIT_NPROC", 0),  # no new processes or threads
    ):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            resource.setrlimit(getattr(resource, which), (value, value))
    size = _vm_size()
    if size is None:
        return None
    ceiling = size + (memory_mib << 20)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    except (ValueError, OSError):
        return None
    return ceiling


def _limit_cpu(seconds: float) -> None:
    """RLIMIT_CPU counts the process's lifetime: allow what is used so far plus this render."""
    try:
        import resource
    except ImportError:
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _render(env: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request; never raises for anything a template can do."""
    from jinja2 import TemplateError

    max_output = int(request["max_output"])
    parts: list[str] = []
    size = 0
    error: str | None = None
    memory = False
    try:
        for chunk in env.from_string(request["source"]).generate(request["fields"]):
            size += len(chunk)
            if size > max_output:
                error = f"template output is over {max_output} characters"
                break
            parts.append(chunk)
    except MemoryError:
        memory = True  # answered below, once the traceback holding the memory is gone
    except TemplateError as exc:
        error = f"template error: {exc.message or type(exc).__name__}"
    except Exception as exc:  # RecursionError, TypeError, OverflowError...: all the template's
        error = f"template error: {type(exc).__name__}: {str(exc)[:MAX_ERROR]}"
    if memory:
        parts.clear()
        return {"memory": True, "recycle": True}
    if error is not None:
        return {"error": error[: MAX_ERROR * 2]}
    return {"text": "".join(parts)}


def _serve(memory_mib: int) -> None:
    """The worker's loop: a JSON request per line on stdin, a JSON reply per line on stdout."""
    import queue

    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else may write into the protocol
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.from_string("{{ x }}{% for i in range(2) %}{{ i }}{% endfor %}").render(x="")  # warm
    requests: queue.Queue[bytes] = queue.Queue()

    def lifeline() -> None:
        """EOF on stdin: the parent closed it or died. Either way, stop, even mid-render."""
        for line in sys.stdin.buffer:
            requests.put(line)
        os._exit(0)

    threading.Thread(target=lifeline, daemon=True).start()
    ceiling = _limit_self(memory_mib)
    replies.write(b'{"ready": true}\n')
    replies.flush()
    while True:
        request = json.loads(requests.get())
        _limit_cpu(float(request["cpu"]))
        reply = _render(env, request)
        reply["id"] = request["id"]
        size = _vm_size()
        if ceiling and size and size > ceiling - (memory_mib << 19):  # over half the budget
            reply["recycle"] = True
        try:
            replies.write(json.dumps(reply).encode() + b"\n")
            replies.flush()
        except OSError:
            os._exit(0)


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_MIB)
