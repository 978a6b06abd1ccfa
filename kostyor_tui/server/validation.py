"""Request body checks with Kostyor's (Cerberus-style) field error wording."""

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from kostyor_tui.server.errors import BadRequest


@dataclass(frozen=True)
class Field:
    """A body field: a string (optionally from `allowed`), or a string-to-string mapping."""

    required: bool = False
    kind: str = "string"  # "string" or "mapping"
    allowed: Collection[str] | None = None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _problems(value: Any, field: Field) -> list[str]:
    if field.kind == "mapping":
        if not isinstance(value, dict):
            return ["must be of dict type"]
        return [
            f"value of {key!r} must be of string type"
            for key, item in value.items()
            if not isinstance(item, str)
        ]
    if not isinstance(value, str):
        return ["must be of string type"]
    if not value.strip():
        return ["empty values not allowed"]
    if field.allowed is not None and value not in field.allowed:
        return [f"unallowed value {value}"]
    return []


def validate(body: dict[str, Any], schema: dict[str, Field]) -> dict[str, Any]:
    """The body's fields if they all pass; otherwise a 400 naming every problem."""
    errors: dict[str, list[str]] = {}
    for name in body:
        if name not in schema:
            errors[name] = ["unknown field"]
    for name, field in schema.items():
        if name not in body or body[name] is None:
            if field.required:
                errors[name] = ["required field"]
            continue
        problems = _problems(body[name], field)
        if problems:
            errors[name] = problems
    if errors:
        summary = "; ".join(f"{name}: {', '.join(found)}" for name, found in errors.items())
        raise BadRequest(f"Invalid request: {summary}", errors)
    return {name: body[name] for name in schema if body.get(name) is not None}
