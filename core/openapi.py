"""drf-spectacular postprocessing: every operation documents the one error body the API uses."""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx answer: a stable machine code, a human message, and the offending field if any.",
    "properties": {
        "code": {"type": "string", "example": "INVALID_AMOUNT"},
        "detail": {"type": "string"},
        "field": {"type": "string", "nullable": True},
    },
    "required": ["code", "detail"],
}
ERROR_RESPONSE = {
    "description": "Client error (400 bad input, 401/403, 404, 409 state conflict, 413 body too large, "
                   "429 rate limit …) with the error body.",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the `Error` component and a `4XX` response to every operation that does not describe
    its client errors itself, so clients (and schema-driven tests) know the shape of every refusal."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                operation.setdefault("responses", {}).setdefault("4XX", ERROR_RESPONSE)
    return result
