"""Limits applied before any work: body size, JSON shape, trace identifiers.

- Bodies are read with a running byte count: a declared ``Content-Length`` over the limit is
  refused without reading anything, a chunked body is cut as soon as the count passes it. The
  answer is ``413`` with the Open MPIC error body (``issue_type: body-too-large``).
- JSON is refused (400) when nested deeper than :data:`MAX_JSON_DEPTH`, when a string is longer
  than :data:`MAX_STRING_CHARS` or is not valid Unicode (a lone surrogate such as ``"\\ud800"``),
  or when an array or object holds more than :data:`MAX_ITEMS` entries. No legitimate Open MPIC
  request comes near these (a domain name has at most 253 characters).
- ``trace_identifier`` is 0..256 visible ASCII characters (``!`` to ``~``): it is sent to every
  perspective in an HTTP header and written to the logs.
"""

from __future__ import annotations

import json
import re
from typing import Any, AsyncIterator, Mapping

from service.errors import bad_request

MAX_JSON_DEPTH = 16
MAX_STRING_CHARS = 1024
MAX_ITEMS = 64
TRACE_ID_MAX = 256
_TRACE_ID = re.compile(r"[\x21-\x7e]*")


class BodyTooLarge(Exception):
    """The request body is (or is announced to be) larger than the limit."""

    def __init__(self, limit: int, setting: str = "max_body_bytes"):
        super().__init__(f"request body over {limit} bytes ({setting}); send a smaller body")
        self.limit = limit


class InputRejected(Exception):
    """Client input refused before any work: carries the Open MPIC validation issues."""

    def __init__(self, issues: list[dict[str, Any]]):
        super().__init__(issues[0]["message"])
        self.issues = issues


def too_large(exc: BodyTooLarge) -> tuple[int, dict[str, Any]]:
    """413 with the Open MPIC error body."""
    return 413, bad_request([{"issue_type": "body-too-large", "message": str(exc)}])[1]


async def read_limited(headers: Mapping[str, str], stream: AsyncIterator[bytes], limit: int,
                       setting: str = "max_body_bytes") -> bytes:
    """The whole body, or BodyTooLarge as soon as the declared length or the running count
    passes ``limit`` (what was not read stays unread)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit, setting)
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, setting)
        chunks.append(chunk)
    return b"".join(chunks)


def _issue(kind: str, message: str) -> InputRejected:
    return InputRejected([{"issue_type": kind, "message": message}])


def _where(path: tuple[Any, ...]) -> str:
    """``a.b[2]`` for the error message; client-chosen keys are shortened and made printable."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if part.isascii() and part.isprintable() and len(part) <= 40 else ascii(part[:40])
        out += f".{key}" if out else key
    return out or "body"


def _check_string(value: str, path: tuple[Any, ...]) -> None:
    if len(value) > MAX_STRING_CHARS:
        raise _issue("string-too-long", f"{_where(path)}: {len(value)} characters; at most {MAX_STRING_CHARS} are "
                                        "accepted")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _issue("invalid-string", f"{_where(path)}: not valid Unicode (lone surrogate at position {exc.start}); "
                                       "send UTF-8 text") from None


def check_shape(data: Any) -> None:
    """InputRejected when ``data`` (parsed JSON) breaks a limit of the module docstring."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(data, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_string(node, path)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _issue("json-too-deep", f"{_where(path)}: nested deeper than {MAX_JSON_DEPTH} levels")
        if len(node) > MAX_ITEMS:
            raise _issue("too-many-items", f"{_where(path)}: {len(node)} entries; at most {MAX_ITEMS} are accepted")
        if isinstance(node, dict):
            for key, value in node.items():
                _check_string(key, path + (key,))
                stack.append((value, depth + 1, path + (key,)))
        else:
            stack.extend((value, depth + 1, path + (i,)) for i, value in enumerate(node))


def load_json(raw: bytes) -> Any:
    """The parsed body (empty = null), or InputRejected (not JSON, or nested beyond the parser)."""
    try:
        return json.loads(raw or b"null")
    except RecursionError:
        raise _issue("json-too-deep", f"body: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _issue("invalid-json", f"body is not JSON: {exc}") from None


def parse_json(raw: bytes) -> Any:
    """:func:`load_json` then :func:`check_shape`."""
    data = load_json(raw)
    check_shape(data)
    return data


def trace_id_issue(value: Any) -> dict[str, str] | None:
    """The validation issue of a request's trace_identifier, or None when it is acceptable."""
    if value is None or (isinstance(value, str) and len(value) <= TRACE_ID_MAX and _TRACE_ID.fullmatch(value)):
        return None
    shown = repr(value[:40]) + ("..." if len(value) > 40 else "") if isinstance(value, str) else type(value).__name__
    return {"issue_type": "invalid-trace-identifier",
            "message": f"trace_identifier {shown} ({len(value) if isinstance(value, str) else '?'} characters): "
                       f"use at most {TRACE_ID_MAX} visible ASCII characters (! to ~, no spaces or control "
                       "characters), e.g. a UUID"}
