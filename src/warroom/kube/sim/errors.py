"""API errors as the `Status` objects the real API server returns, so clients' error handling
(kubectl's "Error from server (NotFound): ...", the python client's ApiException) is exercised."""

from __future__ import annotations

from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    504: "Timeout",
}


class ApiError(Exception):
    """An error response; `status()` is its body."""

    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": _REASONS.get(self.code, ""),
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(resource: str, group: str) -> str:
    """`pods`, `deployments.apps`: how error messages name a resource."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        f'{qualified(resource, group)} "{name}" not found',
        {"name": name, "group": group, "kind": resource}
        if group
        else {"name": name, "kind": resource},
    )


def conflict(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        {"name": name, "group": group, "kind": resource},
    )


def invalid(kind: str, group: str, name: str, field: str, problem: str) -> ApiError:
    return ApiError(
        422,
        f'{kind}.{group} "{name}" is invalid: {field}: {problem}'
        if group
        else f'{kind} "{name}" is invalid: {field}: {problem}',
        {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": problem, "field": field}],
        },
    )


def forbidden(
    user: str, verb: str, resource: str, group: str, name: str, namespace: str
) -> ApiError:
    base = resource.split("/")[0]
    return ApiError(
        403,
        f'{qualified(base, group)} "{name}" is forbidden: User "{user}" cannot {verb} resource '
        f'"{resource}" in API group "{group}" in the namespace "{namespace}"',
        {"name": name, "group": group, "kind": base},
    )


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def no_route() -> ApiError:
    """A path the server does not serve at all."""
    return ApiError(404, "the server could not find the requested resource", {})


def not_allowed() -> ApiError:
    return ApiError(405, "the server does not allow this method on the requested resource")
