"""Rendering untrusted templates in a child process, bounded in time, output and memory.

Template files come from whoever can write the config dir, so they are hostile until proven
otherwise. jinja2's sandbox stops attribute tricks and code, but not a loop that makes no
calls (`{% for a in L %}{% for b in L %}{% endfor %}{% endfor %}` over 100k items), a string
that doubles with `~`, or a list that doubles with `+`. In-process nothing bounds those: a
Python thread cannot be killed, a trace hook slows every render ~6x and cannot interrupt one
huge allocation, and the memory is the console's own. So templates render in a worker:

- time: the parent kills the worker at the deadline; RLIMIT_CPU is the backstop should the
  parent be stopped;
- memory: RLIMIT_AS caps the worker at its start-up size plus a budget, so growth ends in a
  MemoryError (reported, then the worker is replaced) instead of in the OOM killer;
- output: rendering streams and stops at `max_output` characters;
- cancellable: `RenderJob.cancel()` kills the worker mid-render from any thread;
- warm: a healthy worker is reused (a render is one pipe round trip), and a killed one is
  replaced at once, so the next render does not pay for the start-up;
- never outlives the parent: the worker exits when its stdin reaches EOF, which the kernel
  causes when the parent dies however it dies (PR_SET_PDEATHSIG fires when the *thread*
  that spawned the child ends, which would kill warm workers spawned by worker threads);
  at exit, workers are killed before non-daemon threads are joined, so a render in flight
  cannot hold the process.

Plain Python, no Textual: the console's composer and server-side delivery share it. The
worker is `python -m warroom.sandbox.worker`; it loads jinja2 and none of the console.
"""

from warroom.sandbox.renderer import (
    CANCELLED,
    DEFAULT_MEMORY_MIB,
    DEFAULT_TIMEOUT,
    MAX_OUTPUT,
    Rendered,
    Renderer,
    RenderJob,
    shared,
)

__all__ = [
    "CANCELLED",
    "DEFAULT_MEMORY_MIB",
    "DEFAULT_TIMEOUT",
    "MAX_OUTPUT",
    "RenderJob",
    "Rendered",
    "Renderer",
    "shared",
]
