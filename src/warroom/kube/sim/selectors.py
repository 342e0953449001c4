"""`labelSelector` and `fieldSelector` query parameters, parsed and matched as the API server
does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POD_FIELDS = frozenset(
    {
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    }
)
META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
EVENT_FIELDS = META_FIELDS | {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
}
"""The fields the API server lets clients select events by (`source` is the component)."""
ALIASES = {"source": "source.component"}


class SelectorError(ValueError):
    """Malformed or unsupported selector (a 400 BadRequest)."""


Test = Callable[[dict[str, Any]], bool]

_LABEL = re.compile(
    r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|"
    r"\s(in|notin)\s*\(([^)]*)\))?\s*$"
)


def _split(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` sets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _label_test(term: str) -> Test:
    match = _LABEL.match(term)
    if not match:
        raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
    negate, key, op, value, set_op, values = match.groups()
    if negate and (op or set_op):
        raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
    if negate:
        return lambda labels: key not in labels
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    if set_op:
        members = {v.strip() for v in values.split(",")}
        if set_op == "in":
            return lambda labels: labels.get(key) in members
        return lambda labels: labels.get(key) not in members
    return lambda labels: key in labels


@dataclass(frozen=True)
class Selector:
    """Both selectors of a list or watch request."""

    labels: tuple[Test, ...] = ()
    fields: tuple[tuple[str, bool, str], ...] = ()
    """(path, equal?, value) triples."""

    @classmethod
    def parse(cls, label: str, field: str, supported: frozenset[str]) -> Selector:
        fields = []
        for term in _split(field):
            match = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
            if not match:
                raise SelectorError(f"invalid selector: '{field}'; can't understand '{term}'")
            path, op, value = match.groups()
            if path not in supported:
                raise SelectorError(f"field label not supported: {path}")
            fields.append((path, op != "!=", value))
        return cls(tuple(_label_test(term) for term in _split(label)), tuple(fields))

    def matches(self, obj: dict[str, Any]) -> bool:
        labels = obj["metadata"].get("labels") or {}
        if not all(test(labels) for test in self.labels):
            return False
        return all((_field(obj, path) == value) == equal for path, equal, value in self.fields)


def _field(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in ALIASES.get(path, path).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)
