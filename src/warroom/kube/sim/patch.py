"""The three PATCH formats clients send: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
Kubernetes strategic merge patch (the subset kubectl and the python client produce for
deployments: maps merge, `null` deletes, lists of named items merge by `name`)."""

from __future__ import annotations

import copy
from typing import Any

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
TYPES = (JSON_PATCH, MERGE, STRATEGIC)

_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


class PatchError(ValueError):
    """The patch does not apply (a 422 or 400, depending on the format)."""


def apply(content_type: str, doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    """A patched copy of `doc`."""
    if content_type == JSON_PATCH:
        return json_patch(doc, patch)
    if not isinstance(patch, dict):
        raise PatchError("patch body must be a JSON object")
    patched: dict[str, Any] = (
        merge_patch(doc, patch) if content_type == MERGE else strategic_merge(doc, patch)
    )
    return patched


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, list):
        key = _MERGE_KEYS.get(field)
        if key and isinstance(target, list):
            return _merge_list(target, patch, key)
        return [item for item in copy.deepcopy(patch) if not _is_directive(item)]
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if name.startswith("$"):
            continue  # $setElementOrder and friends only affect ordering
        if value is None:
            result.pop(name, None)
        else:
            result[name] = strategic_merge(result.get(name), value, name)
    return result


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and "$patch" in item


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map in list must have the merge key {key!r}")
        index = next((i for i, old in enumerate(result) if old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def json_patch(doc: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"invalid json patch operation: {operation!r}")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"missing value for {op} at {path}")
        if op == "test":
            if _get(result, path) != operation["value"]:
                raise PatchError(f"testing value {path} failed")
        elif op == "remove":
            _remove(result, path)
        elif op == "add":
            _add(result, path, copy.deepcopy(operation["value"]))
        elif op == "replace":
            _remove(result, path)
            _add(result, path, copy.deepcopy(operation["value"]))
        elif op in ("move", "copy"):
            value = copy.deepcopy(_get(result, operation.get("from", "")))
            if op == "move":
                _remove(result, operation["from"])
            _add(result, path, value)
        else:
            raise PatchError(f"unexpected json patch operation {op!r}")
    return result


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid json pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    tokens = _tokens(path)
    if not tokens:
        raise PatchError("cannot replace the whole document")
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, path)
    return node, tokens[-1]


def _child(node: Any, token: str, path: str) -> Any:
    try:
        return node[int(token)] if isinstance(node, list) else node[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"doc is missing path: {path!r}") from None


def _get(doc: Any, path: str) -> Any:
    node = doc
    for token in _tokens(path):
        node = _child(node, token, path)
    return node


def _remove(doc: Any, path: str) -> None:
    parent, token = _parent(doc, path)
    _child(parent, token, path)
    del parent[int(token) if isinstance(parent, list) else token]


def _add(doc: Any, path: str, value: Any) -> None:
    parent, token = _parent(doc, path)
    if isinstance(parent, list):
        index = len(parent) if token == "-" else int(token) if token.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise PatchError(f"index out of range in {path!r}")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[token] = value
    else:
        raise PatchError(f"doc is missing path: {path!r}")
