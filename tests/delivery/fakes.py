"""Faithful fakes of Statuspage and PagerDuty: real HTTP servers on 127.0.0.1.

Every request warroom sends is validated against the service's published OpenAPI spec
(openapi-core: path, method, parameters, security, body schema), plus what the spec says
only in words (unknown fields, Statuspage's 255/25,000-character limits, the component map's
values); every violation is kept in `problems`, which tests assert empty. Answers have the
spec's shapes (each one is validated against the spec's response schema too) and come from
a little model of the service: incidents with updates and component statuses, alerts by
dedup key. A script makes the next answers 420/429 (with Retry-After), 5xx, or a hang that
lasts until the fake stops (the client's timeout ends it).
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

_SPECS: dict[Path, OpenAPI] = {}


def load_spec(path: Path) -> OpenAPI:
    if path not in _SPECS:
        _SPECS[path] = OpenAPI.from_file_path(str(path))
    return _SPECS[path]


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    raw: bytes
    problems: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class Scripted:
    """The next answer: `status` with `headers` and `body`, or a hang."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    hang: bool = False
    apply: bool = False
    """Do the work first, then answer `status` (a 5xx after the change was made)."""


class _OpenAPIRequest:
    """A received request as openapi-core reads it, at the spec's own server address."""

    def __init__(self, public: str, seen: Seen) -> None:
        self.host_url = public
        self.path = seen.path
        self.method = seen.method.lower()
        self.body = seen.raw or None
        self.content_type = seen.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(seen.query),
            header=Headers(list(seen.headers.items())),
            cookie=ImmutableMultiDict(),
            path={},
        )

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


class _OpenAPIResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.data = json.dumps(body).encode() if body is not None else b""
        self.content_type = "application/json"
        self.headers = Headers([("Content-Type", "application/json")])


class SpecFake:
    """A service fake: validates each request against `spec`, answers from `answer`."""

    prefix = ""  # the spec server's path, e.g. /v1
    public = ""  # the spec server's scheme and host

    def __init__(self, spec: Path) -> None:
        self.spec = load_spec(spec)
        self.seen: list[Seen] = []
        self.problems: list[str] = []
        self.script: deque[Scripted] = deque()
        self.lock = threading.Lock()
        self._release = threading.Event()
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    def __enter__(self) -> SpecFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def then(self, *answers: Scripted) -> None:
        self.script.extend(answers)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` requests have arrived (a condition with a deadline, not a sleep)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.seen) >= count, timeout):
                raise TimeoutError(f"{len(self.seen)} requests arrived, not {count}")

    # -- the HTTP side -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    raw,
                )
                status, headers, body = fake._serve(seen)
                if status == 0:  # hang until the fake stops
                    fake._release.wait()
                    self.close_connection = True
                    return
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        return Handler

    def _serve(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        seen.problems.extend(self.validate(seen))
        with self.lock:
            self.problems.extend(f"{seen.method} {seen.path}: {p}" for p in seen.problems)
            scripted = self.script.popleft() if self.script else None
            if scripted is not None and scripted.hang:
                answer: tuple[int, dict[str, str], Any] = (0, {}, None)
            elif scripted is not None and not scripted.apply:
                answer = (scripted.status, scripted.headers, scripted.body)
            else:
                answer = self.answer(seen)
                if scripted is not None:
                    answer = (scripted.status, scripted.headers, scripted.body)
            if answer[0]:
                self._check_answer(seen, answer[0], answer[2])
        with self._arrived:
            self.seen.append(seen)
            self._arrived.notify_all()
        return answer

    def validate(self, seen: Seen) -> list[str]:
        """What is wrong with a request by the spec (empty: nothing)."""
        problems: list[str] = []
        try:
            self.spec.validate_request(_OpenAPIRequest(self.public, seen))
        except Exception as exc:  # openapi-core's errors have no common base worth naming
            cause = f" ({exc.__cause__})" if exc.__cause__ else ""
            problems.append(f"{type(exc).__name__}: {exc}{cause}"[:2000])
        return problems + self.validate_words(seen)

    def validate_words(self, seen: Seen) -> list[str]:
        """What the spec says in words rather than schemas."""
        return []

    def _check_answer(self, seen: Seen, status: int, body: Any) -> None:
        """The fake's own answers must match the spec's response shapes too."""
        if status in (420, 429) or status >= 500 or not (200 <= status < 300):
            return
        try:
            self.spec.validate_response(
                _OpenAPIRequest(self.public, seen), _OpenAPIResponse(status, body)
            )
        except Exception as exc:
            self.problems.append(f"the fake answered off-spec: {type(exc).__name__}: {exc}")

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError


def _strict(schema: dict[str, Any], data: Any, where: str, out: list[str]) -> None:
    """Unknown keys in objects whose schema lists its properties (the spec's objects are
    open; the service ignores or refuses what it does not know, and a typo would go
    unnoticed). Free-form maps (`metadata`, `custom_details`) are left alone."""
    if isinstance(data, dict) and "properties" in schema:
        props = schema["properties"]
        for key, value in data.items():
            if key not in props:
                out.append(f"{where}: unknown field {key!r}")
            else:
                _strict(props[key], value, f"{where}.{key}", out)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(data):
            _strict(schema["items"], item, f"{where}[{i}]", out)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if "properties" in schema:
        schema = {
            **schema,
            "properties": {k: _resolve(spec, v) for k, v in schema["properties"].items()},
        }
    if isinstance(schema.get("items"), dict):
        schema = {**schema, "items": _resolve(spec, schema["items"])}
    return schema


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))


# -- Statuspage ------------------------------------------------------------------------------


class StatuspageFake(SpecFake):
    """Statuspage's REST API v1 for one page: incidents, their updates, components."""

    prefix = "/v1"
    public = "https://api.statuspage.io"

    def __init__(self, spec: Path, *, page_id: str, key: str, components: dict[str, str]) -> None:
        super().__init__(spec)
        self.page_id = page_id
        self.key = key
        self.components = dict(components)  # id -> name
        self.component_status = dict.fromkeys(components, "operational")
        self.incidents: dict[str, dict[str, Any]] = {}
        raw = json.loads(spec.read_text())
        self._raw = raw
        self._map_values = _component_values(raw)

    def validate_words(self, seen: Seen) -> list[str]:
        problems: list[str] = []
        body = _json_or_none(seen.raw)
        if seen.method in ("POST", "PATCH") and isinstance(body, dict):
            name = (
                "postPagesPageIdIncidents" if seen.method == "POST" else "patchPagesPageIdIncidents"
            )
            schema = _resolve(self._raw, self._raw["components"]["schemas"][name])
            incident_schema = schema["properties"]["incident"]
            incident = body.get("incident")
            if isinstance(incident, dict):
                loose = {k: v for k, v in incident.items() if k not in ("components", "metadata")}
                _strict(incident_schema, loose, "incident", problems)
                components = incident.get("components", {})
                if isinstance(components, dict):
                    for cid, value in components.items():
                        if value not in self._map_values:
                            problems.append(f"incident.components.{cid}: {value!r} not allowed")
                metadata = incident.get("metadata")
                if metadata is not None and not (
                    isinstance(metadata, dict)
                    and all(isinstance(v, dict) for v in metadata.values())
                ):
                    problems.append("incident.metadata: top-level values must be objects")
                if len(str(incident.get("name", ""))) > 255:
                    problems.append("incident.name: more than 255 characters")
                if len(str(incident.get("body", ""))) > 25_000:
                    problems.append("incident.body: more than 25000 characters")
            for key in body:
                if key != "incident":
                    problems.append(f"unknown field {key!r}")
        return problems

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        if seen.headers.get("authorization") != f"OAuth {self.key}":
            return 401, {}, {"message": "Could not authenticate"}
        if seen.problems:
            return 422, {}, {"message": "; ".join(seen.problems)[:500]}
        parts = seen.path.removeprefix(self.prefix).strip("/").split("/")
        if len(parts) < 2 or parts[0] != "pages" or parts[1] != self.page_id:
            return 404, {}, {"message": "The requested resource could not be found."}
        rest = parts[2:]
        query = dict(seen.query)
        if not rest and seen.method == "GET":
            return 200, {}, {"id": self.page_id, "name": "Example status", "url": "https://x"}
        if rest == ["incidents"] and seen.method == "POST":
            return 201, {}, self._create(seen.json["incident"])
        if rest == ["incidents"] and seen.method == "GET":
            found = [
                i
                for i in self._newest()
                if query.get("q", "").lower()
                in json.dumps([i["name"], i["incident_updates"]]).lower()
            ]
            return 200, {}, found[: int(query.get("limit", 100))]
        if rest == ["incidents", "unresolved"] and seen.method == "GET":
            page, per = int(query.get("page", 1)), int(query.get("per_page", 100))
            open_ = [i for i in self._newest() if i["status"] != "resolved"]
            return 200, {}, open_[(page - 1) * per : page * per]
        if len(rest) == 2 and rest[0] == "incidents" and rest[1] in self.incidents:
            incident = self.incidents[rest[1]]
            if seen.method == "GET":
                return 200, {}, incident
            if seen.method == "PATCH":
                return 200, {}, self._patch(incident, seen.json["incident"])
        return 404, {}, {"message": "The requested resource could not be found."}

    def _newest(self) -> list[dict[str, Any]]:
        return sorted(self.incidents.values(), key=lambda i: i["created_at"], reverse=True)

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        incident: dict[str, Any] = {
            "id": _new_id(),
            "page_id": self.page_id,
            "name": data["name"],
            "status": data.get("status", "investigating"),
            "impact": data.get("impact_override", "none"),
            "impact_override": data.get("impact_override", "none"),
            "created_at": now,
            "updated_at": now,
            "shortlink": f"https://stspg.io/{_new_id()[:9]}",
            "metadata": data.get("metadata", {}),
            "incident_updates": [],
            "components": [],
        }
        self.incidents[incident["id"]] = incident
        self._apply(incident, data, now)
        return incident

    def _patch(self, incident: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        for key in ("name", "impact_override", "metadata"):
            if key in data:
                incident[key] = data[key]
        if "impact_override" in data:
            incident["impact"] = data["impact_override"]
        if "status" in data:
            incident["status"] = data["status"]
        incident["updated_at"] = now
        self._apply(incident, data, now)
        return incident

    def _apply(self, incident: dict[str, Any], data: dict[str, Any], now: str) -> None:
        affected = []
        for cid, status in (data.get("components") or {}).items():
            if cid in self.components and status:
                old = self.component_status[cid]
                self.component_status[cid] = status
                affected.append(
                    {
                        "code": cid,
                        "name": self.components[cid],
                        "old_status": old,
                        "new_status": status,
                    }
                )
        ids = data.get("component_ids") or list(data.get("components") or {})
        if ids:
            incident["components"] = [self._component(c) for c in ids if c in self.components]
        else:
            incident["components"] = [self._component(c["id"]) for c in incident["components"]]
        if incident["status"] == "monitoring":
            incident.setdefault("monitoring_at", now)
        if incident["status"] == "resolved":
            incident.setdefault("resolved_at", now)
        if "body" in data or "status" in data:
            incident["incident_updates"].insert(
                0,
                {
                    "id": _new_id(),
                    "incident_id": incident["id"],
                    "body": data.get("body", ""),
                    "status": incident["status"],
                    "created_at": now,
                    "updated_at": now,
                    "display_at": now,
                    "affected_components": affected,
                    "deliver_notifications": bool(data.get("deliver_notifications", True)),
                },
            )

    def _component(self, cid: str) -> dict[str, Any]:
        return {
            "id": cid,
            "page_id": self.page_id,
            "name": self.components[cid],
            "status": self.component_status[cid],
        }

    def bodies(self) -> Iterator[str]:
        """Every text warroom sent."""
        for seen in self.seen:
            yield seen.raw.decode(errors="replace")
            yield seen.path + "?" + "&".join(f"{k}={v}" for k, v in seen.query)


def _component_values(raw: dict[str, Any]) -> list[str]:
    """The statuses the spec's component map takes (its one example property's enum)."""
    schema = raw["components"]["schemas"]["postPagesPageIdIncidents"]
    example = schema["properties"]["incident"]["properties"]["components"]["properties"]
    values: list[str] = next(iter(example.values()))["enum"]
    return values


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# -- PagerDuty --------------------------------------------------------------------------------


class PagerDutyFake(SpecFake):
    """PagerDuty's Events API v2: alerts by dedup key, change events."""

    prefix = "/v2"
    public = "https://events.pagerduty.com"

    def __init__(self, spec: Path, *, routing_key: str) -> None:
        super().__init__(spec)
        self.routing_key = routing_key
        self.alerts: dict[str, dict[str, Any]] = {}
        self.changes: list[dict[str, Any]] = []
        self._raw = json.loads(spec.read_text())

    def validate_words(self, seen: Seen) -> list[str]:
        problems: list[str] = []
        body = _json_or_none(seen.raw)
        if not isinstance(body, dict):
            return ["the body is not a JSON object"]
        path = seen.path.removeprefix(self.prefix)
        op = self._raw["paths"].get(path, {}).get("post")
        if op is not None:
            schema = _resolve(self._raw, op["requestBody"]["content"]["application/json"]["schema"])
            loose = dict(body)
            if isinstance(loose.get("payload"), dict):
                loose["payload"] = {
                    k: v for k, v in loose["payload"].items() if k != "custom_details"
                }
            _strict(schema, loose, "event", problems)
        if path == "/enqueue":
            action = body.get("event_action")
            if action == "trigger" and not isinstance(body.get("payload"), dict):
                problems.append("a trigger needs a payload")
            if action in ("acknowledge", "resolve") and not body.get("dedup_key"):
                problems.append(f"{action} needs a dedup_key")
            if len(str(body.get("dedup_key", ""))) > 255:
                problems.append("dedup_key: more than 255 characters")
        summary = (body.get("payload") or {}).get("summary", "")
        if len(str(summary)) > 1024:
            problems.append("payload.summary: more than 1024 characters")
        return problems

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        body = _json_or_none(seen.raw)
        if seen.problems:
            return (
                400,
                {},
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": seen.problems[:3],
                },
            )
        if body.get("routing_key") != self.routing_key:
            return (
                400,
                {},
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Invalid routing key"],
                },
            )
        path = seen.path.removeprefix(self.prefix)
        if path == "/change/enqueue":
            self.changes.append(body)
            return 202, {}, {"status": "success", "message": "Change event processed"}
        key = body.get("dedup_key") or _new_id()
        alert = self.alerts.setdefault(key, {"status": "resolved", "events": []})
        alert["events"].append(body)
        if body["event_action"] == "trigger":
            alert["status"] = "triggered"
        elif alert["status"] != "resolved":
            alert["status"] = {"acknowledge": "acknowledged", "resolve": "resolved"}[
                body["event_action"]
            ]
        return 202, {}, {"status": "success", "message": "Event processed", "dedup_key": key}
