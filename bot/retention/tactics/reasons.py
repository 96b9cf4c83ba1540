"""Why a tactic suits an account, in a rep's words, when the tactic has no `why` of its
own to fill in: one label, detail and stand-alone sentences per signal or segment."""

from __future__ import annotations

from dataclasses import dataclass

from bot.retention.tactics.vocabulary import MAX_WHY, NO_SIGNALS


@dataclass(frozen=True)
class Reason:
    label: str  # combines as "Declining and single-threaded: …"
    detail: str  # follows the combined labels
    sentences: tuple[str, ...]  # stand-alone, one per pick sharing this reason


REASONS: dict[str, Reason] = {
    "dormant_6m": Reason(
        "No order in 6+ months",
        "the buying habit fades the longer you wait",
        (
            "No order in over six months — reconnect before a competitor fills the gap.",
            "Six months without an order: the buying habit is fading, so give them a reason "
            "to talk.",
        ),
    ),
    "dormant_12m": Reason(
        "No order in 12+ months",
        "a year quiet usually means someone else supplies them now",
        (
            "A full year without an order — they're buying from someone; find out who and why.",
            "Twelve months quiet: a low-pressure reason to talk beats another price list.",
        ),
    ),
    "dormant_18m": Reason(
        "No order in 18+ months",
        "people and needs have likely changed, so start fresh",
        (
            "Eighteen months without an order — treat it as a win-back, starting with who is "
            "there now.",
            "A year and a half quiet: whoever bought from you may well have moved on.",
        ),
    ),
    "declining": Reason(
        "Declining",
        "spend is down by half or more, so learn what changed",
        (
            "Spend over the last six months is under half of the six before — find out what "
            "changed.",
            "They're buying far less than they used to; the reason decides the next move.",
        ),
    ),
    "off_rhythm": Reason(
        "Off rhythm",
        "their usual reorder is late, so nudge before it goes elsewhere",
        (
            "Well past their usual gap between orders — a timely nudge may be all it takes.",
            "Later than their normal reorder: check whether it slipped or went elsewhere.",
        ),
    ),
    "likely_lapsing": Reason(
        "Likely lapsing",
        "a valuable account's chance of ordering again is low, so act before it goes",
        (
            "A valuable account whose chance of another order is now low — reach out "
            "before it is gone.",
            "The order history says this good customer is slipping: find out why while "
            "they still pick up.",
        ),
    ),
    "touch_overdue": Reason(
        "Touch overdue",
        "you're past your cadence, so make the next contact count",
        (
            "Your next touch is past due — a quick, useful contact puts you back on cadence.",
            "Overdue for a touch: keep it short and bring them something of value.",
        ),
    ),
    "single_threaded": Reason(
        "Single-threaded",
        "with fewer than two contacts on file, one departure loses the account",
        (
            "Only one contact on file — one departure and the account is gone.",
            "Fewer than two contacts: widen the relationship before you need to.",
        ),
    ),
    "no_plan": Reason(
        "No account plan",
        "give the next touches a shared goal and a date",
        (
            "No account plan yet — agree where this account should be in 3–5 months.",
            "Without a plan every touch is ad hoc; give the next one a goal.",
        ),
    ),
    "champions": Reason(
        "One of your best customers",
        "happy, frequent buyers are your best source of new business",
        (
            "One of your best customers — recent, frequent and high-spend; let them help you grow.",
            "One of your best customers: they trust you, so deepen the relationship.",
        ),
    ),
    "loyal": Reason(
        "Loyal",
        "steady buyers are the easiest place to grow",
        (
            "Buys from you regularly — there's room to grow your share of their spend.",
            "A loyal buyer: earn the next product line, not just the next reorder.",
        ),
    ),
    "potential_loyalists": Reason(
        "Potential loyalist",
        "the next few orders decide whether they become regulars",
        (
            "A recent buyer with a few orders — a little attention now turns them into a regular.",
            "On the way to loyal: make the next product easy to say yes to.",
        ),
    ),
    "new_customers": Reason(
        "New customer",
        "a smooth start is what brings the second order",
        (
            "Bought for the first time recently — the next 90 days decide whether they buy again.",
            "Just started with you: make the first weeks easy and they'll order again.",
        ),
    ),
    "promising": Reason(
        "Promising",
        "spend is small so far, but the door is open",
        (
            "A recent but small buyer — show them what else you can do for them.",
            "Started small and recently: the door is open for a bigger second order.",
        ),
    ),
    "need_attention": Reason(
        "Needs attention",
        "a good history, but recent buying is slipping",
        (
            "An above-average customer whose buying is slipping — a timely touch keeps them.",
            "Solid history, quieter lately: ask what's coming up on their side.",
        ),
    ),
    "about_to_sleep": Reason(
        "About to sleep",
        "one relevant touch now is cheaper than a win-back later",
        (
            "Buying less often and less recently — wake the relationship before it goes quiet.",
            "Orders are getting rarer: one relevant touch now beats a win-back later.",
        ),
    ),
    "at_risk": Reason(
        "At risk",
        "a strong history but fading recency, so act before they're gone",
        (
            "Used to buy often and well, but not lately — act before they're gone.",
            "At risk: a strong history, fading recency; find out what's pulling them away.",
        ),
    ),
    "cant_lose": Reason(
        "Can't lose",
        "a lot of value is at stake, so make the effort visible",
        (
            "One of your biggest past spenders has gone quiet — this one deserves senior "
            "attention.",
            "Too valuable to let drift — show them they matter before a competitor does.",
        ),
    ),
    "hibernating": Reason(
        "Hibernating",
        "a light, useful touch can restart it",
        (
            "Small, rare and long-ago orders — a light, useful touch can restart them.",
            "Hibernating: no pressure, just a reason to remember you.",
        ),
    ),
    "lost": Reason(
        "Lost",
        "an honest conversation may reopen the door",
        (
            "Lowest recency, frequency and spend — win them back or learn why; both are worth it.",
            "Gone quiet for good, it seems: the reason they left is worth knowing either way.",
        ),
    ),
    "no_purchases": Reason(
        "No purchases yet",
        "learn their priorities, then make a first order easy",
        (
            "No orders yet — help them to a first, easy one.",
            "Nothing bought yet: a small, safe first step beats a big pitch.",
        ),
    ),
    NO_SIGNALS: Reason(
        "No warning signs",
        "stay on their radar between orders",
        (
            "No warning signs — a light, useful touch keeps it that way.",
            "All healthy: stay visible without asking for anything.",
        ),
    ),
}
FILLER_WHY = "An easy extra touch that keeps the relationship warm."


def why_options(reasons: tuple[str, ...]) -> list[str]:
    """Ways to say why, best first; `reasons` are ordered by how much they count."""
    if not reasons:
        return [FILLER_WHY]
    top = REASONS[reasons[0]]
    options: list[str] = []
    for count in range(min(len(reasons), 3), 1, -1):
        labels = [REASONS[name].label for name in reasons[:count]]
        rest = [_lower_first(label) for label in labels[1:]]
        joined = labels[0] + "".join(f", {label}" for label in rest[:-1]) + f" and {rest[-1]}"
        text = f"{joined}: {top.detail}."
        if len(text) <= MAX_WHY:
            options.append(text)
            break
    options.extend(top.sentences)
    options.append(f"{top.label}: {top.detail}.")
    return options


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
