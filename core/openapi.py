"""drf-spectacular postprocessing: every operation documents the one error body the API uses."""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx answer: a stable machine code, a human message, and the offending field if any. "
                   "Some refusals add the optional keys below; a client may ignore them.",
    "properties": {
        "code": {"type": "string", "example": "INVALID_AMOUNT"},
        "detail": {"type": "string"},
        "field": {"type": "string", "nullable": True, "description": "The offending field (dotted for nested "
                                                                      "input), or null."},
        "codes": {"type": "array", "items": {"type": "string"},
                  "description": "A refused subscription: every reason, in order; `code` is the first."},
        "current_version": {"type": "integer", "description": "DISCLOSURE_OUTDATED: the disclosure version in force; "
                                                              "acknowledge that one."},
        "status": {"type": "string", "description": "INVALID_TRANSITION: the current status of the product, terms "
                                                     "version or disclosure."},
        "action": {"type": "string", "description": "INVALID_TRANSITION: the lifecycle action that was refused."},
        "missing": {"type": "array", "items": {"type": "string"},
                    "description": "What is missing: unanswered questions, unacknowledged statements, the "
                                   "product fields needed before submission, or (DISCLOSURE_INCOMPLETE) the "
                                   "disclosure sections empty in a language, as key.language."},
        "retake_after": {"type": "string", "format": "date-time",
                         "description": "RETAKE_TOO_SOON: when the assessment may be taken again."},
    },
    "required": ["code", "detail", "field"],
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
ERROR_RESPONSE = {
    "description": "Client error (400 bad input, 401/403, 404, 409 state conflict, 413 body too large, "
                   "415 not a JSON body, 429 rate limit …) with the error body.",
    "content": ERROR_CONTENT,
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Cursor pages always carry both links (null at either end).
PAGE_LINKS = ("next", "previous", "results")


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the `Error` component and a `4XX` response to every operation, and the error body to every 4xx
    an operation describes itself (a bare description would lose the body in generated clients)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if str(code).startswith("4") and not response.get("content"):
                    response["content"] = ERROR_CONTENT
            responses.setdefault("4XX", ERROR_RESPONSE)
    for name, schema in schemas.items():
        properties = schema.get("properties", {})
        if name.startswith("Paginated") and set(PAGE_LINKS) <= set(properties):
            schema["required"] = sorted(set(schema.get("required", [])) | set(PAGE_LINKS))
    return result
