"""Fictional notes of our own for the reading prior: the kinds of text people point sleepd at (a
list note, a family or team chat as sleepd renders it, a runbook), with questions whose answers are
written exactly as in the note: a name that is not the speaker's, a date without a year, a code, a
command. Every name, code and place is drawn from the lists below or made up at random, so no note
is a benchmark's.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sleepd.memory.serving.recall import NOT_IN_NOTES

from .reading_group import ReadingGroup, said

FIRST = [
    "Amara",
    "Bilal",
    "Chen",
    "Dara",
    "Elif",
    "Farid",
    "Greta",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Leila",
    "Marek",
    "Nadia",
    "Oskar",
    "Pilar",
    "Quinn",
    "Ravi",
    "Sade",
    "Tomas",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoe",
    "Maeve",
    "Idris",
    "Noor",
    "Bruno",
    "Anika",
    "Caius",
    "Delphine",
    "Emeka",
    "Freya",
    "Goran",
    "Hiroshi",
    "Ilse",
    "Jamal",
    "Kasia",
    "Lorenzo",
    "Mei",
    "Niamh",
    "Otto",
    "Priyanka",
    "Rosa",
    "Saoirse",
    "Teodor",
    "Valentina",
]
SURNAME = [
    "Adeyemi",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okonkwo",
    "Petrov",
    "Quintero",
    "Rahman",
    "Sato",
    "Takahashi",
    "Umarov",
    "Varga",
    "Whitfield",
    "Yilmaz",
    "Zielinski",
]
KIN = ("Auntie", "Uncle", "Nan", "Grandpa", "Cousin", "Great-aunt")
WORD = [
    "Harbour",
    "Willow",
    "Granite",
    "Beacon",
    "Juniper",
    "Copper",
    "Meadow",
    "Northgate",
    "Kestrel",
    "Alder",
    "Lantern",
    "Fernhill",
    "Bramble",
    "Ironbridge",
    "Saltmarsh",
    "Larch",
    "Heron",
    "Foxglove",
    "Thistle",
    "Ashcombe",
    "Redwater",
    "Linden",
    "Sparrow",
]
TRADE = ("Garage", "Dental", "Plumbing", "Vets", "Insurance", "Electrics", "Builders", "Pharmacy", "Mutual")
STREET = ("Lane", "Road", "Street", "Close", "Avenue", "Row")
FOOD = ("peanuts", "sesame", "gluten", "dairy", "eggs", "mushrooms", "kiwi", "celery", "mustard")
DISH = ("lasagne", "a fruit salad", "the garlic bread", "a cheesecake", "the curry", "flapjacks", "samosas")
THING = ("passport", "spare fob", "boiler manual", "birth certificates", "fuse wire", "torch", "ladder")
SPOT = (
    "the hall cupboard",
    "the top drawer of the desk",
    "the blue folder",
    "the loft hatch box",
    "the shed",
    "the glovebox",
    "the filing cabinet",
)
SERVICE = ("payments", "search", "billing", "auth", "inventory", "notifications", "checkout", "ingest")
VERBS = ("drain", "restart", "roll back", "rotate the keys of", "scale up", "pause")


def code(rng: random.Random, shape: str) -> str:
    """A made-up code: in ``shape`` 'A' is a capital letter and '9' a digit."""
    return "".join(
        rng.choice(string.ascii_uppercase) if c == "A" else rng.choice(string.digits) if c == "9" else c
        for c in shape
    )


def a_date(rng: random.Random, year: bool) -> str:
    d = datetime(2020, 1, 1) + timedelta(days=rng.randrange(5 * 365))
    return f"{d.day} {d:%B %Y}" if year else f"{d.day} {d:%B}"


def a_time(rng: random.Random) -> str:
    return f"{rng.randrange(6, 22)}:{rng.choice(['00', '05', '15', '20', '30', '40', '45', '50'])}"


def money(rng: random.Random) -> str:
    return f"{rng.choice('£$€')}{rng.randrange(12, 900)}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(SURNAME)}"


def firm(rng: random.Random) -> str:
    return f"{rng.choice(WORD)} {rng.choice(TRADE)}"


@dataclass(frozen=True)
class Fact:
    line: str
    question: str
    answer: str


FactMaker = Callable[[random.Random], Fact]

LIST_FACTS: tuple[FactMaker, ...] = (
    lambda r: (lambda d: Fact(f"Boiler service due {d}.", "When is the boiler service due?", d))(
        a_date(r, False)
    ),
    lambda r: (lambda c: Fact(f"Wi-Fi password: {c}", "What is the Wi-Fi password?", c))(
        code(r, "AAAA-9999")
    ),
    lambda r: (lambda f: Fact(f"The dentist is {f}, check-ups every six months.", "Who is the dentist?", f))(
        firm(r)
    ),
    lambda r: (lambda t, s: Fact(f"The {t} is in {s}.", f"Where is the {t}?", s))(
        r.choice(THING), r.choice(SPOT)
    ),
    lambda r: (
        lambda m: Fact(
            f"The window cleaner charges {m} a visit.", "How much does the window cleaner charge?", m
        )
    )(money(r)),
    lambda r: (
        lambda c: Fact(f"Passport number {c}, expires next spring.", "What is the passport number?", c)
    )(code(r, "999999999")),
    lambda r: (
        lambda d: Fact(
            f"Bins go out on {d}s; recycling every other week.", "Which day do the bins go out?", d
        )
    )(r.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])),
    lambda r: (lambda n, f: Fact(f"The plumber we trust is {n} from {f}.", "Which plumber do we trust?", n))(
        person(r), firm(r)
    ),
    lambda r: (lambda c: Fact(f"Meter reading last month: {c}.", "What was last month's meter reading?", c))(
        str(r.randrange(10000, 99999))
    ),
    lambda r: (
        lambda w: Fact(
            f"Parents' evening is with Ms {w} in room {r.randrange(2, 40)}.",
            "Who is parents' evening with?",
            f"Ms {w}",
        )
    )(r.choice(SURNAME)),
    lambda r: (lambda d: Fact(f"Flu jab booked for {d} at the surgery.", "When is the flu jab?", d))(
        a_date(r, False)
    ),
    lambda r: (lambda c: Fact(f"Bike lock combination is {c}.", "What is the bike lock combination?", c))(
        code(r, "9999")
    ),
    lambda r: (
        lambda t: Fact(
            f"Swimming lessons start at {t} on Saturdays.", "What time do swimming lessons start?", t
        )
    )(a_time(r)),
    lambda r: (lambda s: Fact(f"The cat's vet is on {s}.", "Where is the cat's vet?", s))(
        f"{r.choice(WORD)} {r.choice(STREET)}"
    ),
    lambda r: (lambda c: Fact(f"Council tax reference {c}.", "What is the council tax reference?", c))(
        code(r, "AA-999999")
    ),
    lambda r: (lambda n: Fact(f"Our landlord is {n}; rent is paid on the 1st.", "Who is the landlord?", n))(
        person(r)
    ),
)
LIST_TOPICS = ("House", "Family admin", "Odds and ends", "Home", "Things to remember", "Household")


def list_note(rng: random.Random) -> tuple[str, list[Fact], list[Fact]]:
    makers = rng.sample(LIST_FACTS, 7)
    facts = [m(rng) for m in makers[:5]]
    missing = [m(rng) for m in makers[5:]]
    body = "\n".join(f"- {f.line}" for f in facts)
    return f"# {rng.choice(LIST_TOPICS)}\n\n{body}", facts, missing


def chat_note(rng: random.Random) -> tuple[str, list[Fact], list[Fact]]:
    """A family chat where the one who writes a fact is seldom the one it is about."""
    people = rng.sample(FIRST, 4)
    kin = f"{rng.choice(KIN)} {rng.choice(FIRST)}"
    food, dish, when = rng.choice(FOOD), rng.choice(DISH), a_time(rng)
    day = datetime(2021, 1, 1) + timedelta(days=rng.randrange(3 * 365))
    cook, driver, host = rng.sample(people, 3)
    turns = [
        (host, f"Dinner at ours on Saturday, {when}.", Fact("", "What time is dinner on Saturday?", when)),
        (
            people[3],
            f"Just so everyone knows, {kin} can't eat {food}.",
            Fact("", f"Who can't eat {food}?", kin),
        ),
        (cook, f"I'll make {dish}.", Fact("", f"Who is making {dish}?", cook)),
        (
            driver,
            f"I can drive {kin} over, I'll leave at {a_time(rng)}.",
            Fact("", f"Who is driving {kin}?", driver),
        ),
    ]
    rng.shuffle(turns)
    note = "\n".join(said(s, text, day) for s, text, _ in turns)
    missing = [Fact("", "Who is bringing the wine?", ""), Fact("", "Where is the party?", "")]
    return note, [f for _, _, f in turns], missing


def runbook_note(rng: random.Random) -> tuple[str, list[Fact], list[Fact]]:
    service, tool = rng.choice(SERVICE), rng.choice(["svc", "ctl", "ops", "adm"])
    cli = f"{service[:4]}{tool}"
    node = f"{service}-{rng.choice('abcdefgh')}{rng.randrange(1, 9)}"
    owner, channel = person(rng), f"#{service}-{rng.choice(['oncall', 'alerts', 'ops'])}"
    verb, board = rng.choice(VERBS), f"grafana/{service}-{code(rng, '99')}"
    facts = [
        Fact(
            f"To {verb} a node, run `{cli} {verb.split()[0]} {node}`.",
            f"How do I {verb} a node?",
            f"{cli} {verb.split()[0]} {node}",
        ),
        Fact(f"Alerts go to {channel}; the owner is {owner}.", f"Who owns the {service} service?", owner),
        Fact(f"Dashboards live at {board}.", "Where are the dashboards?", board),
        Fact(
            f"Never {rng.choice(VERBS)} {service}-z1 during business hours.",
            "Which node is off-limits in business hours?",
            f"{service}-z1",
        ),
    ]
    rng.shuffle(facts)
    body = "\n".join(f.line for f in facts)
    missing = [Fact("", "What is the on-call rota?", ""), Fact("", "Who approves a release?", "")]
    return f"# Runbook: {service}\n\n{body}", facts, missing


MAKERS = (list_note, chat_note, runbook_note)


def own_note_groups(n_questions: int, seed: int = 0) -> Iterator[ReadingGroup]:
    """Fictional notes with their questions, about ``n_questions`` in all; one question in each
    note's set is about what the note does not hold."""
    rng = random.Random(seed)
    made = 0
    while made < n_questions:
        note, facts, missing = rng.choice(MAKERS)(rng)
        asked = [(f.question, f.answer) for f in rng.sample(facts, min(len(facts), rng.randint(2, 4)))]
        asked.insert(rng.randrange(len(asked) + 1), (rng.choice(missing).question, NOT_IN_NOTES))
        made += len(asked)
        yield ReadingGroup((note,), tuple(asked), "own-notes")
