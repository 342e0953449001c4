"""The resources the simulator serves, and the legacy discovery documents that describe them.

kubectl 1.32 asks `/api` and `/apis` for aggregated discovery first; answering with plain
`application/json` makes it fall back to these documents, which it then caches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    name: str
    group: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1" if self.group else "v1"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def discovery(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.namespaced:
            entry["categories"] = ["all"]
        return entry


_READ = ("get", "list", "watch")
RESOURCES = {
    "namespaces": Resource("namespaces", "", "Namespace", False, _READ, ("ns",)),
    "pods": Resource("pods", "", "Pod", True, ("delete", *_READ), ("po",)),
    "events": Resource("events", "", "Event", True, _READ, ("ev",)),
    "deployments": Resource(
        "deployments", "apps", "Deployment", True, ("patch", *_READ), ("deploy",)
    ),
    "replicasets": Resource("replicasets", "apps", "ReplicaSet", True, _READ, ("rs",)),
}

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-warroom-sim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


_APPS_VERSION = {"groupVersion": "apps/v1", "version": "v1"}
_APPS = {"name": "apps", "versions": [_APPS_VERSION], "preferredVersion": _APPS_VERSION}
APPS_GROUP = {"kind": "APIGroup", "apiVersion": "v1", **_APPS}
GROUP_LIST = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_APPS]}


def resource_list(group: str) -> dict[str, Any]:
    resources = [r.discovery() for r in RESOURCES.values() if r.group == group]
    if group == "":
        resources.append(
            {
                "name": "pods/log",
                "singularName": "",
                "namespaced": True,
                "kind": "Pod",
                "verbs": ["get"],
            }
        )
    else:
        resources.append(
            {
                "name": "deployments/scale",
                "singularName": "",
                "namespaced": True,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/v1" if group else "v1",
        "resources": resources,
    }
