"""The console's door to a cluster: kubeconfig contexts and namespaces as kubectl has them, an
API client per context, and plain-language explanations of everything that can go wrong.

The `kubernetes` package costs about half a second to import, so it is only imported inside
methods, which the console calls from worker threads, never at start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from warroom.core.text import one_line

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection before calling the cluster unreachable."""
REQUEST_TIMEOUT = (CONNECT_TIMEOUT, 15.0)
"""(connect, read) for one-shot requests: lists, reads, patches."""


class GatewayError(Exception):
    """Something the pane shows as a state, with a hint how to fix it; never a traceback."""

    def __init__(self, reason: str, hint: str = "", status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.status = status

    def __str__(self) -> str:
        return f"{self.reason} — {self.hint}" if self.hint else self.reason


@dataclass(frozen=True)
class Target:
    """What to look at, as kubectl's flags say it."""

    kubeconfig: str | None = None
    """--kubeconfig; None means $KUBECONFIG (several paths merge) or ~/.kube/config."""
    context: str | None = None
    """--context; None means the kubeconfig's current-context."""
    namespace: str | None = None
    """--namespace; None means the context's namespace, else "default"."""
    selector: str = ""
    """--selector, a label selector."""
    all_namespaces: bool = False
    """-A."""


def kubeconfig_paths(kubeconfig: str | None = None) -> list[Path]:
    """Where kubectl looks: --kubeconfig, else every path in $KUBECONFIG, else ~/.kube/config.

    Read from the environment on every call (the client's own default is fixed at import)."""
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return [Path(p).expanduser() for p in listed] or [Path("~/.kube/config").expanduser()]


def kubeconfig_files(kubeconfig: str | None = None) -> list[Path]:
    """The kubeconfig paths that are files; the client merges them in this order, as kubectl."""
    return [path for path in kubeconfig_paths(kubeconfig) if path.is_file()]


class Gateway:
    """API clients for one kubeconfig, one per context, created lazily and thread-safely."""

    def __init__(self, target: Target | None = None) -> None:
        self.target = target or Target()
        self._clients: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    # -- kubeconfig -----------------------------------------------------------------------

    def _config_file(self) -> str:
        """The kubeconfig file(s), joined as $KUBECONFIG is, for the client to merge."""
        existing = [str(p) for p in kubeconfig_files(self.target.kubeconfig)]
        if not existing:
            shown = os.pathsep.join(str(p) for p in kubeconfig_paths(self.target.kubeconfig))
            raise GatewayError(
                f"no kubeconfig at {shown}",
                "run `warroom sim` for a local cluster, or pass --kubeconfig / set KUBECONFIG",
            )
        return os.pathsep.join(existing)

    def contexts(self) -> tuple[list[str], str | None]:
        """Context names and the current one, as `kubectl config get-contexts` lists them."""
        from kubernetes.config import ConfigException, list_kube_config_contexts

        try:
            contexts, active = list_kube_config_contexts(config_file=self._config_file())
        except (ConfigException, OSError, ValueError) as error:
            raise GatewayError(f"kubeconfig unusable: {error}", "check the file") from None
        current = self.target.context or (active or {}).get("name")
        return [c["name"] for c in contexts], current

    def _context_entry(self) -> dict[str, Any]:
        from kubernetes.config import list_kube_config_contexts

        contexts, active = list_kube_config_contexts(config_file=self._config_file())
        name = self.target.context or (active or {}).get("name")
        entry: dict[str, Any]
        for entry in contexts:
            if entry["name"] == name:
                return entry
        known = ", ".join(c["name"] for c in contexts) or "none"
        raise GatewayError(f"context {name!r} not in kubeconfig", f"known contexts: {known}")

    @property
    def context(self) -> str:
        """The context in use (for status lines); works without importing the client."""
        return self.target.context or "(current context)"

    def namespace(self) -> str:
        """The namespace in use: --namespace, else the context's, else "default"."""
        if self.target.namespace:
            return self.target.namespace
        return self._context_entry().get("context", {}).get("namespace") or "default"

    def switch(self, **changes: Any) -> Gateway:
        """A gateway for another context / namespace / selector (clients are shared)."""
        gateway = Gateway(replace(self.target, **changes))
        gateway._clients, gateway._lock = self._clients, self._lock
        return gateway

    # -- clients --------------------------------------------------------------------------

    def api(self) -> Any:
        """The `kubernetes.client.ApiClient` for the target's context."""
        from kubernetes import config
        from kubernetes.config import ConfigException

        with self._lock:
            client = self._clients.get(self.target.context)
            if client is None:
                try:
                    client = config.new_client_from_config(
                        config_file=self._config_file(), context=self.target.context
                    )
                except (ConfigException, OSError, ValueError) as error:
                    raise GatewayError(f"kubeconfig unusable: {error}", "check the file") from None
                self._clients[self.target.context] = client
            return client

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api())

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api())

    def namespaces(self) -> list[str]:
        """Namespace names, for the console's switcher."""
        try:
            listed = self.core().list_namespace(_request_timeout=REQUEST_TIMEOUT)
        except Exception as error:
            raise explain(error) from None
        return sorted(ns.metadata.name for ns in listed.items)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def interrupt(response: Any) -> None:
    """Wake a thread blocked reading a streaming response by shutting its socket down.

    The stream may have ended meanwhile (urllib3 returned the connection to the pool or closed
    it: RuntimeError, ValueError, OSError); then there is nobody to wake."""
    if response is None:
        return
    with contextlib.suppress(RuntimeError, ValueError, OSError):
        response.shutdown()


HINTS = {
    401: "credentials rejected: refresh them (e.g. re-run your cloud's `get-credentials`)",
    403: "not allowed: ask for RBAC access, check with `kubectl auth can-i`",
    404: "not found: it may have been deleted or renamed",
    409: "changed meanwhile: look again and retry",
    410: "history expired: re-listing",
    422: "the server rejected the change as invalid",
}


def explain(error: BaseException) -> GatewayError:
    """Any client failure as a GatewayError: HTTP status, message and what to do."""
    if isinstance(error, GatewayError):
        return error
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

    if isinstance(error, ApiException):
        message = _status_message(error)
        return GatewayError(
            f"{error.status} {message}".strip(), HINTS.get(error.status or 0, ""), error.status
        )
    if isinstance(error, ReadTimeoutError):
        return GatewayError("read timed out", "the API server stopped answering")
    if isinstance(error, ProtocolError):
        return GatewayError("connection dropped", "the API server closed the connection")
    if isinstance(error, HTTPError | OSError):
        cause = one_line(str(getattr(error, "reason", None) or error), 160)
        return GatewayError(
            f"cannot reach the API server: {cause}",
            "is the cluster up and the VPN connected? `kubectl cluster-info` should work",
        )
    return GatewayError(one_line(f"{type(error).__name__}: {error}", 200))


def _status_message(error: Any) -> str:
    """The Status message the API server sent, else the HTTP reason."""
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return one_line(str(message or error.reason or ""), 200)
