"""Request bodies: read (JSON only, bounded) and checked, with Kostyor's (Cerberus-style)
field error wording."""

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from kostyor_tui.domain.text import has_control_characters
from kostyor_tui.server.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 1024 * 1024
# The longest text a field holds (the real server's columns are VARCHAR(255)), and the
# longest parameter value (a path or a URL): every list answer repeats names, so that a
# name cannot make a list of a thousand clusters a gigabyte.
MAX_TEXT_LENGTH = 255
MAX_PARAMETER_LENGTH = 4096


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
    except ValueError:  # Python reads no integer of over 4,300 digits
        raise BadRequest("The request body holds a number too long to read.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


# A lone surrogate (from a JSON \ud800 escape) cannot be stored or answered as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str, max_length: int | None = MAX_TEXT_LENGTH) -> str | None:
    """Why `text` may not be stored or shown, if it may not."""
    if _SURROGATE.search(text):
        return "must be valid Unicode (it holds a lone surrogate)"
    # Stored text is shown on terminals, where a control character would act.
    if has_control_characters(text):
        return (
            "must not hold control characters (such as NUL, BEL, ESC, CR, LF or a"
            " right-to-left override)"
        )
    if max_length is not None and len(text) > max_length:
        return f"max length is {max_length}"
    return None


def _problems(value: Any, field: Field) -> list[str]:
    if field.kind == "mapping":
        if not isinstance(value, dict):
            return ["must be of dict type"]
        problems = []
        for number, (key, item) in enumerate(value.items(), 1):
            # Neither the key nor the value is repeated: either may be what is wrong.
            if problem := _text_problem(key):
                problems.append(f"key {number}: {problem}")
            elif not isinstance(item, str):
                problems.append(f"value of {key!r} must be of string type")
            elif problem := _text_problem(item, MAX_PARAMETER_LENGTH):
                problems.append(f"value of {key!r}: {problem}")
        return problems
    if not isinstance(value, str):
        return ["must be of string type"]
    if problem := _text_problem(value):
        return [problem]
    if not value.strip():
        return ["empty values not allowed"]
    if field.allowed is not None and value not in field.allowed:
        return [f"unallowed value {value}"]
    return []


def validate(
    body: dict[str, Any], schema: dict[str, Field], message: str | None = None
) -> dict[str, Any]:
    """The body's fields if they all pass; otherwise a 400 naming every problem (`message`,
    when given, instead of the summary in the message: the field errors say it all)."""
    errors: dict[str, list[str]] = {}
    for name in body:
        if _text_problem(name, max_length=None):
            # Not repeated: it could not be answered, or would act on a terminal.
            raise BadRequest("Invalid request: a field name is not printable Unicode text.")
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
        raise BadRequest(message or f"Invalid request: {summary}", errors)
    return {name: body[name] for name in schema if body.get(name) is not None}


async def read_json_body(request: Request) -> dict[str, Any]:
    """A request's body: a JSON object of at most MAX_BODY_BYTES, sent as JSON (else 4xx)."""
    # A web page can send text/plain or a form to any server without asking it first;
    # only a JSON body makes the browser ask (and this server never says yes).
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            "Send the request body as JSON (Content-Type: application/json)."
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return parse_json_object(b"".join(chunks))
