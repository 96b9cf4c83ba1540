"""The demo workspace's cast and script: reps, accounts and the story each account's
data tells, and the names, titles, products and notes the details are drawn from.
`bot.demo` turns them into rows dated relative to now."""

from __future__ import annotations

from dataclasses import dataclass

from bot.retention.names import normalize_name
from models import TOUCH_KINDS

DEMO_DOMAIN = "rebuy-demo.example"


@dataclass(frozen=True)
class RepSpec:
    name: str
    slack_user_id: str
    tz: str

    @property
    def email(self) -> str:
        return ".".join(normalize_name(self.name).split()) + f"@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class AccountSpec:
    """One demo account and the story its data tells.

    `pattern` shapes the orders; `touch` says where the last touch falls against the
    cadence ("due": overdue, "today": due today, "ok": within cadence, "none": never
    touched, so the last order sets the due day).
    """

    name: str
    industry: str
    tier: str
    owner: int  # index into REPS
    pattern: str
    contacts: int
    touch: str
    annual_value: int | None

    @property
    def domain(self) -> str:
        words = normalize_name(self.name.replace("'", "")).split()
        words = [w for w in words if w not in _LEGAL_WORDS]
        return "-".join(words) + ".example"

    @property
    def cadence_days(self) -> int | None:
        return CADENCE_OVERRIDES.get(self.name)


_LEGAL_WORDS = {"and", "co", "gmbh", "ltd", "inc", "llc"}

REPS = (
    RepSpec("Lena Hoffmann", "U0DEMO1", "Europe/Berlin"),
    RepSpec("Marcus Reed", "U0DEMO2", "America/New_York"),
    RepSpec("Priya Nair", "U0DEMO3", "America/Los_Angeles"),
)
LENA, MARCUS, PRIYA = range(3)

# Each rep has five accounts due today or overdue, and one more hidden by a snooze or
# with a touch due soon, so the morning reminder is interesting but short.
# fmt: off
ACCOUNTS = tuple(AccountSpec(*row) for row in (
    # name, industry, tier, owner, pattern, contacts, touch, annual value
    ("Müller & Söhne GmbH", "manufacturing", "mid", LENA, "loyal", 3, "ok", 96_000),
    ("Hartmann Kältetechnik GmbH", "distribution", "mid", LENA, "dormant_6m", 2, "due", 52_000),
    ("Nordlicht Optik GmbH", "clinic", "small", LENA, "new", 1, "ok", None),
    ("Café Lumière", "hospitality", "mid", LENA, "declining", 2, "due", 38_000),
    ("Hôtel Beauséjour", "hospitality", "mid", LENA, "steady", 3, "ok", 44_000),
    ("Pâtisserie Saint-Honoré", "food", "small", LENA, "occasional", 2, "ok", 6_500),
    ("Brightline Packaging Co.", "manufacturing", "key", LENA, "champion", 4, "ok", 210_000),
    ("Alpine Medical Labs", "lab", "mid", LENA, "champion", 3, "today", 88_000),
    ("Lumen Creative Agency", "agency", "small", LENA, "dormant_18m", 1, "due", 9_000),
    ("Van der Berg Horticulture", "distribution", "small", LENA, "occasional", 2, "ok", 7_500),
    ("Pinecrest Laboratories", "lab", "mid", LENA, "dormant_6m", 2, "ok", 41_000),
    ("Evergreen Home Care", "clinic", "mid", LENA, "off_rhythm", 2, "due", 29_000),
    ("Zenith Biotech Labs", "lab", "mid", LENA, "none", 1, "ok", 35_000),
    ("Northwind Traders", "distribution", "key", MARCUS, "champion", 4, "ok", 240_000),
    ("Northwind Logistics", "services", "mid", MARCUS, "loyal", 2, "due", 64_000),
    ("O'Brien Facilities", "services", "mid", MARCUS, "off_rhythm", 2, "due", 36_000),
    ("Keystone Industrial Supply", "distribution", "key", MARCUS, "champion", 3, "ok", 180_000),
    ("Atlas Precision Parts", "manufacturing", "mid", MARCUS, "declining", 1, "due", 58_000),
    ("Harborview Dental Group", "clinic", "mid", MARCUS, "steady", 2, "ok", 42_000),
    ("Riverside Print Studio", "agency", "small", MARCUS, "dormant_12m", 1, "due", 8_000),
    ("Silverline Events Agency", "agency", "small", MARCUS, "dormant_12m", 0, "none", 12_000),
    ("Granite State Fabrication", "manufacturing", "mid", MARCUS, "steady", 3, "ok", 55_000),
    ("Crescent Urgent Care", "clinic", "small", MARCUS, "new", 1, "ok", None),
    ("Tidewater Pool & Spa Service", "services", "small", MARCUS, "occasional", 1, "due", None),
    ("Kowalski & Sons Plumbing Supply", "distribution", "small", MARCUS, "occasional", 2, "ok",
     9_500),
    ("Ironbridge Tooling", "manufacturing", "small", MARCUS, "dormant_18m", 2, "ok", 11_000),
    ("Sterling Veterinary Partners", "clinic", "mid", MARCUS, "declining", 3, "ok", 47_000),
    ("Summit Hospitality Group", "hospitality", "key", PRIYA, "loyal", 4, "ok", 150_000),
    ("Cedar Creek Veterinary Clinic", "clinic", "mid", PRIYA, "loyal", 2, "today", 46_000),
    ("Bluewater Marine Supply", "distribution", "mid", PRIYA, "champion", 2, "ok", 92_000),
    ("Redwood Print & Sign", "agency", "small", PRIYA, "steady", 1, "ok", 14_000),
    ("Lakeside Physiotherapy", "clinic", "small", PRIYA, "steady", 2, "ok", 12_000),
    ("Westbrook Dental Studio", "clinic", "mid", PRIYA, "declining", 1, "due", 33_000),
    ("Coastal Refrigeration Ltd.", "services", "mid", PRIYA, "off_rhythm", 2, "ok", 39_000),
    ("Maple Leaf Catering", "food", "small", PRIYA, "dormant_6m", 1, "due", 10_000),
    ("Orchard Street Bakery Supply", "food", "small", PRIYA, "dormant_12m", 2, "due", 13_000),
    ("Fjord & Pine Interiors", "agency", "small", PRIYA, "new", 0, "ok", None),
    ("Vega Sound & Light", "agency", "small", PRIYA, "occasional", 2, "ok", None),
    ("Hollis & Grant Architects", "agency", "small", PRIYA, "occasional", 2, "due", 7_000),
    ("Meadowbrook Senior Living", "clinic", "mid", PRIYA, "steady", 3, "due", 48_000),
))
# fmt: on
CADENCE_OVERRIDES = {"Café Lumière": 21, "Meadowbrook Senior Living": 45}
PLANNED = {
    "Müller & Söhne GmbH",
    "Brightline Packaging Co.",
    "Zenith Biotech Labs",
    "Northwind Traders",
    "Sterling Veterinary Partners",
    "Summit Hospitality Group",
}
# Both are overdue by their cadence; the snooze pushes the next touch past today.
SNOOZED = {
    "Riverside Print Studio": "Owner is back from parental leave next week.",
    "Hollis & Grant Architects": "Partners are at a trade fair; call after.",
}
# Declining, single-threaded, a touch overdue and no plan: the card has plenty to say.
FEATURED = "Atlas Precision Parts"

PRODUCTS = ("Consumables", "Spare parts", "Service plan", "Equipment")
# How much an order of each line is worth against a plain consumables order.
PRODUCT_SIZE = {"Consumables": 1.0, "Spare parts": 0.8, "Service plan": 2.5, "Equipment": 6.0}
FULL_RANGE = (0.60, 0.25, 0.10, 0.05)
SMALL_RANGE = (0.70, 0.30, 0.0, 0.0)
TIER_VALUE = {"key": 150_000, "mid": 40_000, "small": 8_000}

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hannah", "Ivan", "Julia",
    "Kevin", "Laura", "Miguel", "Nina", "Oliver", "Paula", "Rafael", "Sarah", "Tom", "Ursula",
    "Victor", "Wendy", "Yusuf", "Zoe", "Amira", "Jonas", "Chloé", "Mateo", "Sofía", "Lukas",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Brooks", "Castillo", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ito",
    "Jensen", "Kaplan", "Lambert", "Martín", "Novak", "Okafor", "Patel", "Quinn", "Rossi",
    "Schmidt", "Thompson", "Umarov", "Varga", "Weber", "Young", "Zimmermann", "Moreau",
)  # fmt: skip
TITLES = {
    "distribution": ("Purchasing Manager", "Operations Director", "Warehouse Manager", "CFO"),
    "manufacturing": ("Plant Manager", "Head of Maintenance", "Procurement Lead", "COO"),
    "clinic": ("Practice Manager", "Clinical Director", "Office Manager", "Owner"),
    "lab": ("Lab Manager", "Procurement Specialist", "Head of Operations", "QA Lead"),
    "agency": ("Managing Director", "Studio Manager", "Production Lead", "Office Manager"),
    "hospitality": ("General Manager", "Head of Purchasing", "F&B Manager", "Owner"),
    "services": ("Operations Manager", "Fleet Manager", "Purchasing Lead", "Owner"),
    "food": ("Owner", "Head Baker", "Operations Manager", "Purchasing Manager"),
}

# How often reps log each kind of touch.
TOUCH_MIX = {"call": 35, "email": 35, "meeting": 12, "visit": 8, "note": 10}
assert set(TOUCH_MIX) == set(TOUCH_KINDS)
NOTES = {
    "any": (
        "Checked stock levels; reorder expected next week.",
        "Sent the updated price list for next season.",
        "Walked the site with the maintenance lead; two machines due a service.",
        "Left a voicemail for purchasing.",
        "Shared the case study on cutting consumable waste.",
        "Sorted an invoice query with accounts payable.",
        "Asked about expansion plans for next year.",
        "Demoed the new equipment range; interested for the Q3 budget.",
    ),
    "champion": (
        "Asked for an intro to their sister site; they will connect us.",
        "Annual review: happy with service, renewing the service plan.",
        "Quarterly business review, volumes up on last year.",
    ),
    "declining": (
        "A cheaper supplier is quoting for their consumables.",
        "Volumes down: they are consolidating suppliers.",
        "New buyer started last month; we have not met her yet.",
    ),
    "dormant": (
        "No reply to the last two e-mails.",
        "Project paused, budget frozen until next fiscal year.",
        "Sent a maintenance checklist, no pitch.",
    ),
    "new": (
        "Onboarding call: walked them through the ordering portal.",
        "First delivery arrived fine; follow up in a month.",
    ),
}
