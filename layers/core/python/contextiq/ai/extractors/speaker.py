"""First person -> third person: "I'm vegetarian" said by Alice becomes "Alice is vegetarian".

A stored memory must make sense without the conversation, so the heuristic extractor names the speaker:
the user's name when the conversation stated it, otherwise "The user". :func:`third_person` rewrites
``I``/``I'm``/``I've``/``I'd``/``I'll``/``my``/``mine``/``me``/``myself`` and conjugates the verb that follows
``I`` (skipping adverbs such as "always", "never", "no longer"): "I always drink tea" -> "Alice always
drinks tea", "I don't eat meat" -> "Alice doesn't eat meat", "my wife" -> "Alice's wife".
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DEFAULT_SUBJECT = "The user"

ADVERBS = _words(
    "only even absolutely usually actually definitely especially normally basically mostly never "
    "really particularly still strongly recently frequently already always rarely generally often "
    "just occasionally also hardly honestly now currently sometimes finally truly seldom totally "
    "typically kinda"
)
MULTIWORD_ADVERBS = ("no longer", "kind of", "sort of", "much prefer")

# Forms that do not change in the third person singular.
INVARIANT = _words(
    "can could will would shall should may might must did was had used ought went saw met got made "
    "took came bought flew left ate drank ran wrote spent paid sold sold told said found gave knew "
    "thought felt kept lost began became became broke brought built caught chose drove fell forgot "
    "heard held hurt lent led meant meant put quit read rode rang rose sang sat slept spoke stood "
    "swam taught tore threw understood woke wore won sent set cut let hit shut split spread stuck "
    "struck swore swept bent dealt dug fed fought fled grew hung laid lit sought shook shot sank slid "
    "spun stole stung bet bid cast cost burst forbade forgave froze overslept overheard mistook "
    "withdrew undertook upset beat are were"
)
PRESENT_ED = _words("need feed bleed breed speed proceed exceed succeed heed shed wed embed shred bed seed weed")
_ES_ENDINGS = ("s", "sh", "ch", "x", "z", "o")


def conjugate_third_person(verb: str) -> str:
    """The third-person singular present of ``verb`` (past tenses and modals unchanged)."""
    lower = verb.lower()
    if lower in INVARIANT or (lower.endswith("ed") and lower not in PRESENT_ED):
        return verb
    special = {"have": "has", "do": "does", "go": "goes", "am": "is", "be": "is", "'m": "is"}
    if lower in special:
        return special[lower]
    if lower in {"don't", "dont"}:
        return "doesn't"
    if lower in {"haven't"}:
        return "hasn't"
    if lower in {"aren't", "ain't"}:
        return "isn't"
    if lower.endswith("n't") or lower.endswith("'d") or lower.endswith("ing"):
        return verb
    if len(lower) > 2 and lower.endswith("y") and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    if lower.endswith(_ES_ENDINGS):
        return verb + "es"
    return verb + "s"


def possessive(subject: str) -> str:
    return f"{subject}'s"


def _subject_forms(subject: str) -> tuple[str, str]:
    """(at the start of a sentence, elsewhere)."""
    if subject.lower() == DEFAULT_SUBJECT.lower():
        return DEFAULT_SUBJECT, DEFAULT_SUBJECT.lower()
    return subject, subject


_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\S")
_CONTRACTIONS = [
    (re.compile(r"\bI'm\b", re.I), "I am"),
    (re.compile(r"\bIm\b"), "I am"),
    (re.compile(r"\bI've\b", re.I), "I have"),
    (re.compile(r"\bI'll\b", re.I), "I will"),
    (re.compile(r"\bI'd\b", re.I), "I would"),
]


def expand_first_person(text: str) -> str:
    """Normalises curly apostrophes and the contractions of "I" (I'm -> I am, I'd -> I would...)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    return re.sub(r"(?<![\w'])i(?![\w'])", "I", text)


def third_person(text: str, subject: str = DEFAULT_SUBJECT, *, capitalize: bool = True) -> str:
    """Rewrite a first-person sentence about the speaker into a sentence about ``subject``.

    ``capitalize=False`` for a fragment continued inside another sentence ("always give me..." ->
    "always give Alice..."); "The user" is then written "the user".
    """

    start_form, mid_form = _subject_forms(subject)
    if not capitalize:
        start_form = mid_form
    text = expand_first_person(text)
    words = re.split(r"(\s+)", text)
    out: list[str] = []
    expect_verb = False
    i = 0
    while i < len(words):
        chunk = words[i]
        if chunk.isspace() or chunk == "":
            out.append(chunk)
            i += 1
            continue
        core = re.match(r"^([\"'(]*)(.*?)([.,!?;:\"')]*)$", chunk)
        assert core is not None
        lead, word, trail = core.groups()
        lower = word.lower()
        at_start = not "".join(out).strip()
        subj = start_form if at_start else mid_form
        if expect_verb and word:
            # skip adverbs between the subject and its verb
            pair = f"{lower} {words[i + 2].lower()}" if i + 2 < len(words) else ""
            if pair in MULTIWORD_ADVERBS:
                out.extend([chunk, words[i + 1], words[i + 2]])
                i += 3
                continue
            if lower in ADVERBS:
                out.append(chunk)
                i += 1
                continue
            if lower == "not":
                out.append(chunk)
                i += 1
                continue
            out.append(lead + conjugate_third_person(word) + trail)
            expect_verb = False
            i += 1
            continue
        if word == "I":
            previous = "".join(out).split()
            compound = bool(previous) and previous[-1].lower() in {"and", "or", "nor"}
            out.append(lead + subj + trail)
            # "my wife and I are..." keeps its plural verb; "..., I" before a comma has no verb to conjugate
            expect_verb = not trail and not compound
            i += 1
            continue
        if lower in {"my", "mine"}:
            out.append(lead + possessive(subj) + trail)
            i += 1
            continue
        if lower in {"me", "myself"}:
            out.append(lead + mid_form + trail)
            i += 1
            continue
        out.append(chunk)
        i += 1
    result = "".join(out).strip()
    return result[:1].upper() + result[1:] if capitalize else result


def second_person_to_assistant(text: str) -> str:
    """In an instruction, "you"/"your" refer to the assistant."""
    text = re.sub(r"\byourself\b", "itself", text, flags=re.I)
    text = re.sub(r"\byour\b", "its", text, flags=re.I)
    return re.sub(r"\byou\b", "the assistant", text, flags=re.I)


_NAME_FACT = re.compile(r"^the user's name is (?P<name>[A-Z][\w'-]*(?: [A-Z][\w'-]*)?)\.?$", re.I)


def name_in(fact: str) -> str | None:
    """The user's name a fact gives ("The user's name is Carol" -> "Carol"), if it is a name fact."""
    m = _NAME_FACT.match(fact.strip())
    return m.group("name") if m else None


_THE_USER = re.compile(r"\b[Tt]he user\b")


def with_name(fact: str, name: str | None) -> str:
    """``fact`` with "The user" replaced by the user's known ``name`` ("The user moved to Seattle" ->
    "Carol moved to Seattle"); a name fact itself is returned unchanged."""
    if not name or name_in(fact):
        return fact
    return _THE_USER.sub(name, fact)


_BARE_NAME = re.compile(r"^(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?) (?!is called\b|'s\b)")
_NOT_NAMES = frozenset({"The", "A", "An", "This", "That", "These", "Those", "There", "It", "Our", "My", "Their"})


def person_named(fact: str) -> str | None:
    """The person a fact opens with by bare name ("Olga got hired..." -> "Olga"), if any."""
    m = _BARE_NAME.match(fact)
    return m.group("name") if m and m.group("name").split()[0] not in _NOT_NAMES else None


def introduce(fact: str, known: Iterable[str], user_name: str | None = None) -> str:
    """Say who a person named at the start of ``fact`` is, when a ``known`` fact tells: with "The user's
    godmother Olga called the user", "Olga just got hired as a carpenter" becomes "The user's godmother
    Olga just got hired as a carpenter" -- self-contained, and found by a question about the godmother."""
    person = person_named(fact)
    if person is None or person == user_name:
        return fact
    name = re.escape(person)
    relation = re.compile(
        rf"(?P<owner>\b(?:[Tt]he user|[A-Z][a-z]+(?: [A-Z][a-z]+)?))'s "
        rf"(?P<rel>(?:(?!is\b|was\b|called\b|named\b)[a-z-]+ ){{1,2}}?)(?:is |was )?{name}\b"
    )
    for other in known:
        found = relation.search(other)
        if found:
            owner = found.group("owner")
            return f"{owner[:1].upper()}{owner[1:]}'s {found.group('rel')}{fact}"
    return fact
