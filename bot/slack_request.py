"""What a signed Slack request must look like before Bolt sees it (the HTTP front's
last check, after the size and the signature): a JSON object or a `payload=`/`command=`
form matching its content type, no deeper than 64 levels, with the fields listeners read
without checking. Anything else is refused with 400 and a short, body-free reason."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

# Deeper JSON than this is not something Slack sends.
MAX_JSON_DEPTH = 64


class Refused(Exception):
    """A request the front answers itself: `status` and a short, body-free reason.
    `size` is what the log line says of the body when it is not the body's length."""

    def __init__(self, status: str, reason: str, *, size: int | str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.size = size


def _bad(reason: str) -> Refused:
    return Refused("400 Bad Request", reason)


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when `value` nests no deeper than `limit` (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return True


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(f"{where} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad(f"{where} is not a JSON object")
    if not _depth_ok(value):
        raise _bad(f"{where} nests deeper than {MAX_JSON_DEPTH}")
    if not isinstance(value.get("type"), str):
        raise _bad(f"{where} has no string 'type'")
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


# What listeners read without checking, per payload type: a signed body without it is
# malformed (400), never a listener's exception (500).
def _interactive_shape(payload: dict[str, Any]) -> str | None:
    user = payload.get("user")
    if not isinstance(user, dict) or not _is_text(user.get("id")):
        return "has no user object with an id"
    kind = payload["type"]
    if kind == "block_actions":
        return _actions_shape(payload.get("actions"))
    if kind in {"view_submission", "view_closed"}:
        return _view_shape(payload.get("view"))
    return None


def _actions_shape(actions: Any) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "has no actions list"
    if not all(isinstance(a, dict) and _is_text(a.get("action_id")) for a in actions):
        return "has an action without an action_id"
    return None


def _view_shape(view: Any) -> str | None:
    if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
        return "has no view object with a callback_id"
    state = view.get("state", {})
    if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
        return "has a view state that is not an object"
    blocks = state.get("values", {}).values()
    if not all(
        isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
        for block in blocks
    ):
        return "has a view state value that is not an object"
    if not isinstance(view.get("private_metadata", ""), str):
        return "has private_metadata that is not text"
    return None


_EVENT_TEXT_FIELDS = {
    "app_home_opened": ("user",),
    "reaction_added": ("user", "reaction"),
    "reaction_removed": ("user", "reaction"),
}


def _event_shape(event: dict[str, Any]) -> str | None:
    for name in _EVENT_TEXT_FIELDS.get(event["type"], ()):
        if not _is_text(event.get(name)):
            return f"{event['type']} event without a {name}"
    if event["type"].startswith("reaction_") and not isinstance(event.get("item"), dict):
        return "reaction event without an item"
    return None


def _refuse_if(problem: str | None, where: str) -> None:
    if problem is not None:
        raise _bad(f"{where} {problem}")


def _check_json(text: str) -> None:
    """An Events API body: a JSON object; an event_callback's event an object too."""
    payload = _json_object(text, "JSON body")
    if payload["type"] == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise _bad("event_callback without an event object")
        _refuse_if(_event_shape(event), "event_callback:")


def _check_form(text: str) -> None:
    """An interactive payload (`payload=`), an SSL check, or a slash command."""
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise _bad("form body is malformed") from None
    if "payload" in form:
        if len(form["payload"]) != 1:
            raise _bad("form body has several payload fields")
        payload = _json_object(form["payload"][0], "payload field")
        _refuse_if(_interactive_shape(payload), f"{payload['type'][:40]} payload")
    elif "ssl_check" in form:
        return
    elif "command" in form:
        _check_command(form)
    else:
        raise _bad("form body has neither payload nor command")


def _check_command(form: dict[str, list[str]]) -> None:
    for name in ("command", "user_id", "response_url"):
        values = form.get(name, [])
        if len(values) != 1 or not values[0]:
            raise _bad(f"slash command without one {name}")
    repeated = sorted(name for name, values in form.items() if len(values) > 1)
    if repeated:
        raise _bad(f"slash command repeats {repeated[0][:40]}")


def check_body(body: bytes, content_type: str) -> None:
    """Raise `Refused` (400) unless `body` has a shape Slack sends for `content_type`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("body is not UTF-8") from None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        _check_json(text)
    elif media_type == "application/x-www-form-urlencoded":
        _check_form(text)
    else:
        raise _bad(f"unsupported content type {media_type[:40]!r}")
