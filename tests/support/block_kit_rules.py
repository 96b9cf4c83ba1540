"""What Slack refuses in a message, a view or a command reply, checked in one place.

Slack validates every Block Kit payload on its side and refuses the whole thing when
one rule fails (`invalid_blocks` for messages, `invalid_arguments` for views,
`invalid_command_response` for a slash-command reply, HTTP 400 for a response_url).
slack_sdk's typed classes check some limits, but raw dicts and ids are not checked
at all, so the Slack double runs every payload through `check_message` /
`check_view` and answers like Slack.

The rules are data: `SPECS` says, per block / element / composition type, which
fields exist, which are required, what kind of value each holds and its limits
(from Slack's Block Kit reference; see SLACK-NOTES.md). The few rules that relate
two fields (a section needs text or fields, ids must be unique, a modal with
inputs needs submit, an initial option must be one of the options) are named
functions in `CROSS_CHECKS`. Problems are reported like Slack does:
`"<what is wrong> [json-pointer:/blocks/1/elements/0/text/text]"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 4000  # the notification fallback; Rebuy keeps it under this
PRIVATE_METADATA = 3000
ID_LENGTH = 255
VIEW_LABEL = 24

# Element families: which element types may appear where.
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
INTERACTIVE = frozenset(
    {"button", "overflow", "datepicker", "timepicker", "checkboxes", "radio_buttons", *SELECTS}
)
ACCESSORIES = INTERACTIVE | {"image"}
INPUT_ELEMENTS = INTERACTIVE - {"button", "overflow"} | {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
}
CONTEXT_ELEMENTS = TEXT_TYPES | {"image"}
# Composition objects Slack identifies by position, not by a `type` field.
TYPELESS = frozenset({"option", "option_group", "confirm", "slack_file"})
BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "input", "image", "rich_text"}
)


@dataclass(frozen=True)
class Field:
    """One field of a Block Kit object and what Slack accepts in it.

    kind: "str" (a string of at most `max` characters), "text" (a text object whose
    `text` is at most `max` characters; `plain` limits it to plain_text), "object"
    (one nested object whose type is in `types`), "list" (`min`..`max` nested objects
    whose type is in `types`), "option" (one option object, which has no `type`),
    "options" (`min`..`max` option objects), "bool",
    "enum" (one of `values`), "date" (YYYY-MM-DD), "int".
    """

    kind: str
    required: bool = False
    max: int | None = None
    min: int = 0
    plain: bool = False
    types: frozenset[str] = frozenset()
    values: frozenset[str] = frozenset()


def _id() -> Field:
    return Field("str", max=ID_LENGTH)


def _placeholder() -> Field:
    return Field("text", max=150, plain=True)


def _select(max_options: int, *, multi: bool = False) -> dict[str, Field]:
    spec = {
        "action_id": _id(),
        "placeholder": _placeholder(),
        "options": Field("options", min=1, max=max_options),
        "option_groups": Field("list", min=1, max=100, types=frozenset({"option_group"})),
        "confirm": Field("object", types=frozenset({"confirm"})),
        "focus_on_load": Field("bool"),
    }
    if multi:
        spec["initial_options"] = Field("options", max=max_options)
        spec["max_selected_items"] = Field("int")
    else:
        spec["initial_option"] = Field("option")
    return spec


_PICKER = {
    "action_id": _id(),
    "placeholder": _placeholder(),
    "confirm": Field("object", types=frozenset({"confirm"})),
    "focus_on_load": Field("bool"),
}

# type -> {field: Field}. A field not listed here is refused (Slack: "unsupported field").
SPECS: Mapping[str, Mapping[str, Field]] = {
    # ---- blocks
    "section": {
        "block_id": _id(),
        "text": Field("text", max=3000),
        "fields": Field("list", min=1, max=10, types=TEXT_TYPES),
        "accessory": Field("object", types=ACCESSORIES),
        "expand": Field("bool"),
    },
    "header": {"block_id": _id(), "text": Field("text", required=True, max=150, plain=True)},
    "divider": {"block_id": _id()},
    "context": {
        "block_id": _id(),
        "elements": Field("list", required=True, min=1, max=10, types=CONTEXT_ELEMENTS),
    },
    "actions": {
        "block_id": _id(),
        "elements": Field("list", required=True, min=1, max=25, types=INTERACTIVE),
    },
    "input": {
        "block_id": _id(),
        "label": Field("text", required=True, max=2000, plain=True),
        "element": Field("object", required=True, types=INPUT_ELEMENTS),
        "hint": Field("text", max=2000, plain=True),
        "optional": Field("bool"),
        "dispatch_action": Field("bool"),
    },
    "image": {  # the block and the element share a type name; the block has block_id/title
        "block_id": _id(),
        "image_url": Field("str", max=3000),
        "alt_text": Field("str", required=True, max=2000),
        "title": Field("text", max=2000, plain=True),
        "slack_file": Field("object", types=frozenset({"slack_file"})),
    },
    # ---- composition objects
    "plain_text": {
        "text": Field("str", required=True, min=1),
        "emoji": Field("bool"),
    },
    "mrkdwn": {"text": Field("str", required=True, min=1), "verbatim": Field("bool")},
    "option": {
        "text": Field("text", required=True, max=75),
        "value": Field("str", required=True, max=150),
        "description": Field("text", max=75),
        "url": Field("str", max=3000),
    },
    "option_group": {
        "label": Field("text", required=True, max=75, plain=True),
        "options": Field("options", required=True, min=1, max=100),
    },
    "confirm": {
        "title": Field("text", required=True, max=100, plain=True),
        "text": Field("text", required=True, max=300),
        "confirm": Field("text", required=True, max=30, plain=True),
        "deny": Field("text", required=True, max=30, plain=True),
        "style": Field("enum", values=frozenset({"primary", "danger"})),
    },
    "slack_file": {"url": Field("str"), "id": Field("str")},
    # ---- elements
    "button": {
        "text": Field("text", required=True, max=75, plain=True),
        "action_id": _id(),
        "value": Field("str", max=2000),
        "url": Field("str", max=3000),
        "style": Field("enum", values=frozenset({"primary", "danger"})),
        "confirm": Field("object", types=frozenset({"confirm"})),
        "accessibility_label": Field("str", max=75),
    },
    "overflow": {
        "action_id": _id(),
        "options": Field("options", required=True, min=1, max=5),
        "confirm": Field("object", types=frozenset({"confirm"})),
    },
    "datepicker": {**_PICKER, "initial_date": Field("date")},
    "timepicker": {**_PICKER, "initial_time": Field("str", max=5), "timezone": Field("str")},
    "radio_buttons": {
        "action_id": _id(),
        "options": Field("options", required=True, min=1, max=10),
        "initial_option": Field("option"),
        "confirm": Field("object", types=frozenset({"confirm"})),
        "focus_on_load": Field("bool"),
    },
    "checkboxes": {
        "action_id": _id(),
        "options": Field("options", required=True, min=1, max=10),
        "initial_options": Field("options", max=10),
        "confirm": Field("object", types=frozenset({"confirm"})),
        "focus_on_load": Field("bool"),
    },
    "static_select": _select(100),
    "multi_static_select": _select(100, multi=True),
    "plain_text_input": {
        "action_id": _id(),
        "placeholder": _placeholder(),
        "initial_value": Field("str", max=3000),
        "multiline": Field("bool"),
        "min_length": Field("int", max=3000),
        "max_length": Field("int", max=3000),
        "dispatch_action_config": Field("object", types=frozenset()),
        "focus_on_load": Field("bool"),
    },
}
# Selects fed by Slack (users, channels, external data) share one shape.
for _name in SELECTS - SPECS.keys():
    SPECS[_name] = {  # type: ignore[index]
        **_PICKER,
        "initial_user": Field("str"),
        "initial_users": Field("list", types=frozenset()),
        "initial_conversation": Field("str"),
        "initial_conversations": Field("list", types=frozenset()),
        "initial_channel": Field("str"),
        "initial_channels": Field("list", types=frozenset()),
        "initial_option": Field("option"),
        "initial_options": Field("options", max=100),
        "min_query_length": Field("int"),
        "max_selected_items": Field("int"),
        "default_to_current_conversation": Field("bool"),
        "response_url_enabled": Field("bool"),
        "filter": Field("object", types=frozenset()),
    }

VIEW_SPEC: Mapping[str, Field] = {
    "type": Field("enum", required=True, values=frozenset({"modal", "home"})),
    "title": Field("text", max=VIEW_LABEL, plain=True),
    "submit": Field("text", max=VIEW_LABEL, plain=True),
    "close": Field("text", max=VIEW_LABEL, plain=True),
    "private_metadata": Field("str", max=PRIVATE_METADATA),
    "callback_id": Field("str", max=ID_LENGTH),
    "external_id": Field("str", max=ID_LENGTH),
    "clear_on_close": Field("bool"),
    "notify_on_close": Field("bool"),
    "submit_disabled": Field("bool"),
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_-]+")


class _Checker:
    """Walks one payload and collects Slack-style problem strings."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, pointer: str, problem: str) -> None:
        self.errors.append(f"{problem} [json-pointer:{pointer}]")

    # -- one object against its spec
    def node(self, value: Any, pointer: str, allowed: Iterable[str]) -> None:
        if not isinstance(value, dict):
            self.fail(pointer, "must be an object")
            return
        allowed = frozenset(allowed)
        if not allowed:
            return  # a free-form object (filters, dispatch configs): not checked here
        if len(allowed) == 1 and next(iter(allowed)) in TYPELESS:
            self.fields(value, SPECS[next(iter(allowed))], pointer)
            return
        kind = value.get("type")
        if kind not in SPECS or (allowed and kind not in allowed):
            self.fail(f"{pointer}/type", f"type {kind!r} is not allowed here")
            return
        self.fields(value, SPECS[kind], pointer)
        for check in CROSS_CHECKS.get(kind, ()):
            check(self, value, pointer)

    def fields(self, value: Mapping[str, Any], spec: Mapping[str, Field], pointer: str) -> None:
        for name, field in spec.items():
            if field.required and value.get(name) is None:
                self.fail(f"{pointer}/{name}", f"missing required field: {name}")
        for name, item in value.items():
            where = f"{pointer}/{name}"
            if name == "type":
                continue
            field = spec.get(name)
            if field is None:
                self.fail(where, f"unsupported field: {name}")
            elif item is not None:
                self.field(item, field, where)

    # Complexity over 12 on purpose: one branch per Block Kit field rule Slack enforces.
    def field(self, item: Any, field: Field, where: str) -> None:  # noqa: C901
        if field.kind == "str":
            if not isinstance(item, str):
                self.fail(where, "must be a string")
            elif field.max is not None and len(item) > field.max:
                self.fail(where, f"must be less than {field.max + 1} characters")
            elif len(item) < field.min:
                self.fail(where, f"must be more than {field.min - 1} characters")
        elif field.kind == "text":
            kinds = {"plain_text"} if field.plain else TEXT_TYPES
            self.node(item, where, kinds)
            text = item.get("text") if isinstance(item, dict) else None
            if isinstance(text, str) and field.max is not None and len(text) > field.max:
                self.fail(f"{where}/text", f"must be less than {field.max + 1} characters")
        elif field.kind == "object":
            self.node(item, where, field.types)
        elif field.kind == "option":
            self.option(item, where)
        elif field.kind in ("list", "options"):
            types = frozenset({"option"}) if field.kind == "options" else field.types
            if not isinstance(item, list):
                self.fail(where, "must be an array")
                return
            if len(item) < field.min:
                self.fail(where, f"must provide at least {field.min} items")
            if field.max is not None and len(item) > field.max:
                self.fail(where, f"must provide no more than {field.max} items")
            for index, child in enumerate(item):
                if field.kind == "options":
                    self.option(child, f"{where}/{index}")
                elif types:
                    self.node(child, f"{where}/{index}", types)
        elif field.kind == "bool" and not isinstance(item, bool):
            self.fail(where, "must be a boolean")
        elif field.kind == "int" and (not isinstance(item, int) or isinstance(item, bool)):
            self.fail(where, "must be an integer")
        elif field.kind == "int" and field.max is not None and item > field.max:
            self.fail(where, f"must be at most {field.max}")
        elif field.kind == "enum" and item not in field.values:
            self.fail(where, f"must be one of {sorted(field.values)}")
        elif field.kind == "date" and not (isinstance(item, str) and _DATE.fullmatch(item)):
            self.fail(where, "must be a date as YYYY-MM-DD")

    def option(self, value: Any, pointer: str) -> None:
        self.node(value, pointer, {"option"})

    # -- a list of blocks (a message or a view)
    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.fail(pointer, "must be an array")
            return
        if len(blocks) > limit:
            self.fail(pointer, f"must provide no more than {limit} items")
        seen: dict[str, int] = {}
        for index, block in enumerate(blocks):
            where = f"{pointer}/{index}"
            self.node(block, where, BLOCK_TYPES)
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if block_id is not None:
                if block_id in seen:
                    self.fail(f"{where}/block_id", f"duplicate block_id {block_id!r}")
                seen.setdefault(block_id, index)


# --- rules that relate two fields -----------------------------------------------------------


def _section_has_content(checker: _Checker, block: Mapping[str, Any], pointer: str) -> None:
    if not block.get("text") and not block.get("fields"):
        checker.fail(pointer, "must provide either text or fields")


def _field_lengths(checker: _Checker, block: Mapping[str, Any], pointer: str) -> None:
    for index, item in enumerate(block.get("fields") or []):
        text = item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str) and len(text) > 2000:
            checker.fail(f"{pointer}/fields/{index}/text", "must be less than 2001 characters")


def _unique_action_ids(checker: _Checker, block: Mapping[str, Any], pointer: str) -> None:
    seen: set[str] = set()
    for index, element in enumerate(block.get("elements") or []):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            checker.fail(
                f"{pointer}/elements/{index}/action_id", f"duplicate action_id {action_id!r}"
            )
        seen.add(action_id)


def _initial_among_options(checker: _Checker, element: Mapping[str, Any], pointer: str) -> None:
    values = {o.get("value") for o in element.get("options") or [] if isinstance(o, dict)}
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            values |= {o.get("value") for o in group.get("options") or [] if isinstance(o, dict)}
    chosen = element.get("initial_options") or []
    if element.get("initial_option"):
        chosen = [element["initial_option"]]
    for option in chosen:
        if isinstance(option, dict) and option.get("value") not in values:
            checker.fail(f"{pointer}/initial_option", "must match one of the provided options")


def _select_has_options(checker: _Checker, element: Mapping[str, Any], pointer: str) -> None:
    if not element.get("options") and not element.get("option_groups"):
        checker.fail(pointer, "must provide either options or option_groups")


def _plain_text_only_for_select_options(
    checker: _Checker, element: Mapping[str, Any], pointer: str
) -> None:
    for index, option in enumerate(element.get("options") or []):
        text = option.get("text") if isinstance(option, dict) else None
        if isinstance(text, dict) and text.get("type") != "plain_text":
            checker.fail(f"{pointer}/options/{index}/text/type", "must be plain_text")


def _input_lengths(checker: _Checker, element: Mapping[str, Any], pointer: str) -> None:
    initial, longest = element.get("initial_value"), element.get("max_length")
    if isinstance(initial, str) and isinstance(longest, int) and len(initial) > longest:
        checker.fail(f"{pointer}/initial_value", f"must be less than {longest + 1} characters")


def _image_source(checker: _Checker, image: Mapping[str, Any], pointer: str) -> None:
    if not image.get("image_url") and not image.get("slack_file"):
        checker.fail(pointer, "must provide either image_url or slack_file")


_SELECT_CHECKS = (_select_has_options, _plain_text_only_for_select_options, _initial_among_options)

CROSS_CHECKS: Mapping[str, tuple[Callable[[_Checker, Mapping[str, Any], str], None], ...]] = {
    "section": (_section_has_content, _field_lengths),
    "actions": (_unique_action_ids,),
    "static_select": _SELECT_CHECKS,
    "multi_static_select": _SELECT_CHECKS,
    "overflow": (_plain_text_only_for_select_options,),
    "radio_buttons": (_initial_among_options,),
    "checkboxes": (_initial_among_options,),
    "plain_text_input": (_input_lengths,),
    "image": (_image_source,),
}


# --- entry points ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What Slack would say: `errors` refuse the payload, `warnings` only annotate it."""

    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def check_message(payload: Mapping[str, Any]) -> Verdict:
    """A chat.postMessage / chat.update / chat.postEphemeral / response_url / command reply.

    Errors as Slack's `invalid_blocks` lists them; warnings for what Slack accepts but
    flags (`missing_text_fallback` when blocks come without `text`, as Slack's
    `response_metadata.warnings` does)."""
    checker = _Checker()
    warnings: list[str] = []
    text = payload.get("text")
    blocks = payload.get("blocks")
    if text is not None and not isinstance(text, str):
        checker.fail("/text", "must be a string")
    elif isinstance(text, str) and len(text) >= MESSAGE_TEXT:
        checker.fail("/text", f"must be less than {MESSAGE_TEXT} characters")
    if blocks is not None:
        checker.blocks(blocks, "/blocks", MESSAGE_BLOCKS)
        if not text:
            warnings.append("missing_text_fallback")
    return Verdict(tuple(checker.errors), tuple(warnings))


def check_view(view: Any) -> Verdict:
    """A view for views.open / push / update / publish, or a `response_action` ack."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("/view", "must be an object")
        return Verdict(tuple(checker.errors))
    spec = dict(VIEW_SPEC)
    kind = view.get("type")
    if kind == "modal":
        spec["title"] = Field("text", required=True, max=VIEW_LABEL, plain=True)
    known = {**spec, "blocks": Field("list")}
    for name in view:
        if name not in known:
            checker.fail(f"/view/{name}", f"unsupported field: {name}")
    checker.fields({k: v for k, v in view.items() if k in spec or k == "type"}, spec, "/view")
    if kind == "home":
        for name in ("submit", "close"):
            if name in view:
                checker.fail(f"/view/{name}", f"{name} is only for modals")
    blocks = view.get("blocks")
    if blocks is None:
        checker.fail("/view/blocks", "missing required field: blocks")
    else:
        checker.blocks(blocks, "/view/blocks", VIEW_BLOCKS)
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal" and has_input and not view.get("submit"):
        checker.fail("/view/submit", "must provide submit when the view has input blocks")
    return Verdict(tuple(checker.errors))


def check_metadata(metadata: Any) -> tuple[str | None, str | None]:
    """Message metadata as chat.postMessage / chat.update judge it: `(error, warning)`.

    Not an object: error `invalid_metadata_format`. A missing or malformed `event_type`
    (letters, digits, `_` and `-` only) or a non-object `event_payload`: Slack posts the
    message, drops the metadata and warns `invalid_metadata_schema`."""
    if not isinstance(metadata, dict):
        return "invalid_metadata_format", None
    event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
    if not (isinstance(event_type, str) and _EVENT_TYPE.fullmatch(event_type)):
        return None, "invalid_metadata_schema"
    if not isinstance(payload, dict):
        return None, "invalid_metadata_schema"
    return None, None
