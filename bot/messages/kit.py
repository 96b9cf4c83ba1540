"""The escape-and-limits kit every surface builds with: user data made inert for mrkdwn,
text cut to Slack's limits, typed slack_sdk blocks, and messages capped at their block
count with an "…and N more" line."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

# Slack's limits (see SLACK-NOTES.md).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
VIEW_TITLE = 24
LABEL_TEXT = 2000  # an input block's label
PLACEHOLDER_TEXT = 150
CONTEXT_ELEMENTS = 10
FALLBACK_TEXT = 3900  # a message's `text`, under Slack's 4,000
METADATA = 3000  # a view's private_metadata

ZWJ = "\u200d"
ZWNJ = "\u200c"
# mrkdwn has no escape for its formatting characters; a zero-width non-joiner on each
# side keeps one from opening or closing bold, italics, strike or code.
_FORMATTING = re.compile(r"([*_~`])")


def _keeps_joiner(text: str, index: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👩‍💻) is part of the emoji."""
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return all(c and unicodedata.category(c) in ("So", "Sk", "Mn") for c in (before, after))


def clean(text: object) -> str:
    """User data without invisible format characters: bidi overrides, embeddings,
    isolates and marks (U+202E can make `evil.exe` read as `exe.live`), zero-width
    spaces and joiners, soft hyphens. A name then reads as what it is, in plain_text
    and mrkdwn alike; a joiner inside an emoji stays."""
    text = str(text)
    if text.isascii():
        return text
    # Line and paragraph separators (Zl, Zp) would break a one-line name: a space.
    return "".join(
        " " if unicodedata.category(c) in ("Zl", "Zp") else c
        for i, c in enumerate(text)
        if unicodedata.category(c) != "Cf" or (c == ZWJ and _keeps_joiner(text, i))
    )


def escape(text: object) -> str:
    """User data made inert for mrkdwn: `<!channel>` or `<@U1>` pings no one (<, >, &
    escaped), `*`, `_`, `~` and backticks format nothing, and direction or zero-width
    characters are gone (see `clean`)."""
    return _FORMATTING.sub(rf"{ZWNJ}\1{ZWNJ}", _entities(clean(text)))


def escape_message(text: object) -> str:
    """A message of ours with the user's words in it (a refusal such as "“x” is not a
    snooze length: use e.g. `1w`") made inert like `escape`, except that its code spans
    stay code: their text has only <, > and & escaped, which Slack's code formatting
    shows as typed. With an unpaired backtick nothing is code."""
    parts = clean(text).split("`")
    if len(parts) % 2 == 0:
        return escape(text)
    return "".join(
        f"`{_entities(part)}`" if n % 2 else escape(part) for n, part in enumerate(parts)
    )


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """Shorten to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cut_mrkdwn(text: str, limit: int) -> str:
    """Like `cut`, for escaped text: never ends inside an entity such as `&amp;`, nor
    inside a mention or link of our own such as `<@U123>`."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&", max(0, len(head) - 5))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    opened = head.rfind("<")
    if opened != -1 and ">" not in head[opened:]:
        head = head[:opened]
    return head.rstrip() + "…"


def user_ref(slack_user_id: str | None, fallback_text: str | None = None) -> str:
    """A Slack mention (`<@U123>`, an id Slack gave us), else the escaped name, else
    "someone"."""
    if slack_user_id:
        return f"<@{slack_user_id}>"
    return escape(fallback_text) if fallback_text else "someone"


def md(text: str) -> MarkdownTextObject:
    """A mrkdwn text object; `text` is already escaped, so it is cut entity-safely."""
    return MarkdownTextObject(text=cut_mrkdwn(text, SECTION_TEXT))


def plain(text: str, limit: int) -> PlainTextObject:
    """plain_text is shown literally, but direction and zero-width characters in user
    data still act: they are removed here too."""
    return PlainTextObject(text=cut(clean(text), limit), emoji=True)


def section(text: str, **kwargs) -> SectionBlock:
    return SectionBlock(text=md(text), **kwargs)


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[md(text) for text in texts[:CONTEXT_ELEMENTS]])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_TEXT))


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=plain(text, BUTTON_TEXT), action_id=str(action_id), value=value, style=style
    )


def option(text: str, value: str) -> Option:
    return Option(text=plain(text, OPTION_TEXT), value=cut(value, OPTION_VALUE))


def more_line(count: int, what: str = "more not shown.") -> str:
    """ "…and 12 more not shown." """
    return f"…and {count:,} {what}"


def finish(blocks: Sequence[Block], *, limit: int = MESSAGE_BLOCKS) -> list[dict]:
    """Blocks as dicts, at most `limit` of them (validated by slack_sdk)."""
    blocks = list(blocks)
    if len(blocks) > limit:
        dropped = len(blocks) - (limit - 1)
        blocks = [*blocks[: limit - 1], context(more_line(dropped))]
    return [block.to_dict() for block in blocks]


def finish_dicts(raw: Sequence[dict], *, limit: int = MESSAGE_BLOCKS) -> list[dict]:
    """Like `finish`, for blocks already stored as dicts (e.g. a reminder being re-rendered)."""
    raw = list(raw)
    if len(raw) > limit:
        raw = [*raw[: limit - 1], context(more_line(len(raw) - limit + 1, "more.")).to_dict()]
    return raw


def fallback(text: str) -> str:
    """The notification text from plain text: escaped, short, no mentions."""
    return cut(escape(text), FALLBACK_TEXT)


def fallback_mrkdwn(text: str) -> str:
    """The notification text from mrkdwn that is already safe (escaping it again would
    show `&amp;lt;` to the reader)."""
    return cut_mrkdwn(text, FALLBACK_TEXT)


def bullet_list(
    lines: Sequence[str], *, limit: int, more_label: str = "more", budget: int = 2500
) -> str:
    """At most `limit` lines and about `budget` characters, then "…and N more", so the
    count survives even when the lines are long (a section holds 3,000 characters)."""
    shown: list[str] = []
    used = 0
    for line in lines[:limit]:
        if shown and used + len(line) + 1 > budget:
            break
        line = line if len(line) <= budget else cut_mrkdwn(line, budget)
        shown.append(line)
        used += len(line) + 1
    if len(lines) > len(shown):
        shown.append(more_line(len(lines) - len(shown), more_label))
    return "\n".join(shown)


def message(blocks: Sequence[Block], text: str, *, mrkdwn: bool = False) -> dict:
    """A message: blocks plus its notification text (plain text escaped here, or mrkdwn
    that is already safe)."""
    return {"blocks": finish(blocks), "text": fallback_mrkdwn(text) if mrkdwn else fallback(text)}


def notice(text: str) -> dict:
    """A short ephemeral line (errors, confirmations). `text` is mrkdwn, already safe."""
    return message([section(text)], text, mrkdwn=True)
