"""The rule table of the heuristic extractor (docs/extraction.md, "Rules"): first match wins."""

from __future__ import annotations

import re

from contextiq.ai.extractors.heuristic.builders import (
    DETAILS,
    PERSONAL,
    PREFERENCES,
    THE_DETAIL,
    Builder,
    Context,
    Match,
    build_call_me,
    build_dated,
    build_forget,
    build_my_detail,
    build_name,
    build_no_longer,
    build_relationship,
    build_remember,
    build_remind,
    build_the_detail,
    instruction,
    whole,
)
from contextiq.ai.extractors.speaker import expand_first_person

_ADV = (
    r"(?:(?:always|never|usually|often|really|also|just|still|absolutely|totally|truly|genuinely|"
    r"particularly|especially|definitely|kind of|sort of|do|now|currently|mostly|honestly|actually)\s+)*"
)
_REL = (
    r"(?:wife|husband|partner|spouse|fianc[eé]e?|boyfriend|girlfriend|daughters?|sons?|kids?|children|child|"
    r"babies|baby|mother|mom|mum|father|dad|parents|brothers?|sisters?|siblings?|twins?|"
    r"grand(?:mother|father|ma|pa|"
    r"parents|son|daughter|kids|children)|aunt|uncle|cousins?|niece|nephew|in-laws|(?:mother|father|sister|"
    r"brother)-in-law|friends?|bff|boss|manager|colleagues?|co-?workers?|roommates?|flatmates?|neighbou?rs?|"
    r"team|dogs?|cats?|pets?|puppy|kitten|parrot|rabbit|hamster|horse|goldfish|turtle)"
)
_DIET = (
    r"(?:vegetarian|vegan|pescatarian|pescetarian|gluten[- ]free|lactose[- ]intolerant|diabetic|"
    r"celiac|coeliac|"
    r"kosher|halal|teetotal|sober|keto|allergic|intolerant|sensitive to|on a [\w -]*diet|a picky eater)"
)
_HABIT_FREQ = (
    r"\b(?:every|each|daily|weekly|on weekends|on the weekend|at weekends|a lot|twice|once a|most days|"
    r"in my free time|for fun|as a hobby|regularly)\b"
)


# (name, pattern on the clause with "I'm"-style contractions expanded, builder). First match wins.
RULES: list[tuple[str, re.Pattern[str], Builder]] = [
    # -- explicit instructions and retractions --------------------------------------------------------
    (
        "forget",
        re.compile(
            r"^(?:please\s+)?(?:forget|disregard|erase|delete|drop)\s+(?:that\s+|about\s+|"
            r"what I (?:said|told you) "
            r"about\s+)?(?P<x>.+)$",
            re.I,
        ),
        build_forget,
    ),
    (
        "remember",
        re.compile(
            r"^(?:please\s+)?(?:remember|note|keep in mind|make a note|bear in mind|do not forget|"
            r"don't forget|"
            r"never forget|save|store)\s+(?:that\s+|this:?\s+)?(?P<x>.+)$",
            re.I,
        ),
        build_remember,
    ),
    ("remind", re.compile(r"^(?:please\s+)?remind me\s+(?P<x>.+)$", re.I), build_remind),
    (
        "no_longer",
        re.compile(
            r"^(?:I|my\b.*?)\b.*(?:\bno longer\b|\b(?:not|don't|do not|doesn't|isn't|aren't|cannot|"
            r"can't|won't)\b"
            r".*\b(?:any ?more|any longer)\b)",
            re.I,
        ),
        build_no_longer,
    ),
    (
        "name",
        re.compile(
            r"^(?i:my name is|my name's|I am called|I go by|people call me|(?:hi|hello|"
            r"hey)[,!]?\s+(?:I am|this is))"
            r"\s+(?P<name>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)(?:\s*[,.!]|$)"
        ),
        build_name,
    ),
    (
        "call_me",
        re.compile(
            r"^(?i:please\s+)?(?i:call me|you can call me|just call me|"
            r"refer to me as)\s+(?P<nick>[A-Z][\w'-]+)"
        ),
        build_call_me,
    ),
    (
        "always",
        re.compile(r"^(?:please\s+)?(?:always|make sure (?:to|you)|be sure to)\s+(?P<x>.+)$", re.I),
        instruction("always"),
    ),
    (
        "never",
        re.compile(r"^(?:please\s+(?:do not|don't|never)|never|(?:do not|don't) ever|please stop)\s+(?P<x>.+)$", re.I),
        instruction("never"),
    ),
    (
        "want_you_to",
        re.compile(r"^I (?:want|would like|need|prefer) (?:you|that you) (?:to\s+)?(?:always\s+)?(?P<x>.+)$", re.I),
        instruction("always"),
    ),
    # -- relationships ------------------------------------------------------------------------------
    (
        "relationship",
        re.compile(rf"^my (?:(?:best|close|old|older|younger|little|big|twin|step|ex|new)[ -])?{_REL}\b", re.I),
        build_relationship,
    ),
    (
        "have_relation",
        re.compile(rf"^I have (?:a|an|one|two|three|four|five|six|\d+) (?:[\w-]+ ){{0,2}}?{_REL}\b", re.I),
        whole("relationship", PERSONAL),
    ),
    (
        "marital",
        re.compile(
            r"^I am (?:happily )?(?:married|single|divorced|engaged|widowed|separated|in a relationship|"
            r"a (?:single )?(?:mother|father|mom|dad|mum|parent|grandmother|grandfather|grandparent))\b",
            re.I,
        ),
        whole("marital", PERSONAL),
    ),
    # -- preferences ----------------------------------------------------------------------------------
    (
        "diet",
        re.compile(rf"^I am (?:not )?(?:a |an )?(?:strict |lifelong |mostly |now )?{_DIET}", re.I),
        whole("diet", PREFERENCES, PERSONAL),
    ),
    (
        "eat_drink",
        re.compile(
            r"^I (?:do not |don't |cannot |can't |never |only |mostly |mainly |usually |"
            r"no longer )?(?:eat|drink|avoid)\b",
            re.I,
        ),
        whole("eat_drink", PREFERENCES),
    ),
    (
        "likes",
        re.compile(
            rf"^I {_ADV}(?:like|love|adore|enjoy|prefer|hate|dislike|detest|loathe|despise|fancy|"
            r"appreciate)\b(?! to know| to ask| to check)",
            re.I,
        ),
        whole("likes", PREFERENCES),
    ),
    (
        "dislikes",
        re.compile(
            r"^I (?:do not|don't|did not|didn't) (?:really |particularly |much )?(?:like|love|"
            r"enjoy|care for|mind)\b"
            r"|^I (?:cannot|can't|could not|couldn't) stand\b",
            re.I,
        ),
        whole("dislikes", PREFERENCES),
    ),
    (
        "fan_of",
        re.compile(
            r"^I am (?:not )?(?:really |also |a (?:big |huge |massive )?fan of|into|obsessed with|"
            r"crazy about|"
            r"passionate about|keen on|fond of|partial to|afraid of|scared of|terrified of)",
            re.I,
        ),
        whole("fan_of", PREFERENCES),
    ),
    (
        "rather",
        re.compile(r"^I would (?:much )?(?:rather|prefer)\b|^I would (?:like|love) (?!to\b)", re.I),
        whole("rather", PREFERENCES),
    ),
    (
        "favourite",
        re.compile(r"^my (?:all-time |absolute )?(?:favou?rite|preferred|go-to)\b", re.I),
        whole("favourite", PREFERENCES),
    ),
    (
        "habit",
        re.compile(
            r"^I (?:always|never|usually|often|normally|typically|generally|rarely|sometimes|"
            r"tend to|regularly|"
            r"mostly)\b",
            re.I,
        ),
        whole("habit", PREFERENCES),
    ),
    (
        "hobby",
        re.compile(
            r"^I (?:play|practi[cs]e|collect|knit|paint|meditate|do yoga|sing|dance)\b"
            rf"|^I (?:go|do|watch|listen to|read|cook|bake|run|jog|swim|cycle|bike|hike|ski|surf|"
            rf"climb|draw|write|"
            rf"travel|work out|exercise|train)\b.*{_HABIT_FREQ}",
            re.I,
        ),
        whole("hobby", PREFERENCES),
    ),
    # -- identity -------------------------------------------------------------------------------------
    (
        "age",
        re.compile(r"^I am (?:\d{1,3})(?: years old| years of age| yo)?$|^I (?:just )?turned \d{1,3}\b", re.I),
        whole("age", PERSONAL),
    ),
    (
        "residence",
        re.compile(
            rf"^I {_ADV}(?:live|am living|reside|am based|am located|have been living|have lived)\s+"
            r"(?:in|at|near|on|outside|with|by)\b"
            r"|^I (?:have |just |recently |finally )*(?:moved|relocated)\b|^I am (?:moving|relocating)\b"
            r"|^I will (?:be )?mov(?:e|ing)\b",
            re.I,
        ),
        whole("residence", PERSONAL, DETAILS),
    ),
    (
        "origin",
        re.compile(r"^I am (?:originally )?from\b|^I (?:grew up|was raised|was born)\b", re.I),
        whole("origin", PERSONAL),
    ),
    (
        "work",
        re.compile(
            rf"^I {_ADV}(?:work|am working|have been working|have worked)\s+"
            r"(?:as|at|for|in|on|with|from|part-time|full-time)\b",
            re.I,
        ),
        whole("work", PERSONAL),
    ),
    (
        "i_am_a",
        re.compile(
            r"^I am (?:a|an) (?!bit\b|little\b|lot\b|fan\b|big fan|huge fan|few\b|couple\b|question\b)\w"
            r"|^I am (?:retired|unemployed|self-employed|pregnant|colou?rblind|left-handed|right-handed|"
            r"an introvert|an extrovert|a student|studying)\b",
            re.I,
        ),
        whole("i_am_a", PERSONAL),
    ),
    (
        "skills",
        re.compile(
            r"^I (?:speak|study|teach|own|founded|co-founded|manage|lead|drive|am learning|am studying|"
            r"am fluent in|am a native speaker)\b|^I run (?:a|an|my|the)\b|^I have (?:a|"
            r"an) (?:degree|phd|masters|"
            r"master's|bachelor's|diploma)\b",
            re.I,
        ),
        whole("skills", PERSONAL),
    ),
    # -- plans and key details ------------------------------------------------------------------------
    (
        "plan",
        re.compile(
            rf"^I am {_ADV}(?:going|flying|travell?ing|heading|driving|leaving|visiting|attending|"
            r"meeting|seeing|taking|starting|planning|hoping|thinking (?:of|about)|about to|getting|"
            r"hosting|celebrating|returning|coming|spending|staying|booking|renting|buying|selling|"
            r"training|preparing|organi[sz]ing|running|joining|presenting|interviewing|applying|"
            r"saving|looking (?:for|to)|considering|due)\b"
            r"(?! to (?:know|ask|check|need|have to)\b| late\b| out of\b)",
            re.I,
        ),
        whole("plan", DETAILS),
    ),
    (
        "intent",
        re.compile(
            r"^I (?:will|would like to|would love to|want to|wanna|plan to|intend to|hope to|"
            r"need to|have to|must|"
            r"have got to|got to|am supposed to|should|might|may|am going to)\s+"
            r"(?!know|ask|check|see if|find out|confirm|understand|clarify|make sure|be honest|say|tell you|"
            r"go\b|think|get going|talk to you|need more|have a look|look\b|try\b|wait\b|pass\b|get back|"
            r"be right back|do (?:that|it|this)\b|take (?:that|it|this|the first|the second|the last|one)\b)",
            re.I,
        ),
        whole("intent", DETAILS),
    ),
    (
        "booked",
        re.compile(
            r"^I (?:have |just |already |finally )*(?:booked|reserved|bought|purchased|ordered|"
            r"paid|signed up|"
            r"registered|scheduled|rescheduled|cancell?ed|confirmed|rented|applied|spent|accepted|"
            r"received|won|"
            r"finished|completed|passed|failed|quit|retired|graduated|adopted|got (?:a|an|my|married|engaged|"
            r"promoted|hired)|was (?:promoted|hired|accepted)|started|began|joined|took up|picked up|"
            r"switched|gave up|stopped)\b(?! to (?:ask|say|think|wonder)\b)",
            re.I,
        ),
        whole("booked", DETAILS),
    ),
    (
        "appointment",
        re.compile(
            r"^I have (?:a|an|my|the|two|three|\d+)? ?(?:[\w-]+ ){0,2}?(?:appointment|meeting|"
            r"interview|exam|flight|"
            r"reservation|booking|date|call|deadline|test|wedding|party|conference|trip|vacation|"
            r"holiday|surgery|"
            r"check-?up|presentation|game|match|concert|class|lesson|shift|birthday|tickets?)s?\b",
            re.I,
        ),
        whole("appointment", DETAILS),
    ),
    (
        "my_detail",
        re.compile(
            r"^my (?P<noun>(?:[\w'-]+ ){0,3}?[\w'-]+) (?:is|are|was|were|will be|starts|begins|"
            r"ends|leaves|departs|"
            r"arrives|lands|expires|costs|takes off|has|got)\s+\S",
            re.I,
        ),
        build_my_detail,
    ),
    # -- ongoing activities, conditions, what affects the user, news about people they know ------------
    (
        "ongoing",
        re.compile(
            r"^I have been (?!going\b|wondering\b|thinking\b|meaning\b|trying to (?:find|reach)\b)\w+ing\b"
            r"|^I have (?!to\b|got\b|been\b|no\b|a\b|an\b|the\b)\w+ .*\b(?:for (?:\w+ )?(?:years?|months?|decades?|"
            r"weeks?)|since (?:I|\d{4}|childhood|school))\b"
            r"|^I spend (?:most|every|all|my|the|a lot of|much of|half)\b",
            re.I,
        ),
        whole("ongoing", PREFERENCES, PERSONAL),
    ),
    (
        "condition",
        re.compile(
            r"^I (?:easily |always |often |usually )?(?:get|am getting) (?:\w+sick|sick|migraines?|headaches?|"
            r"anxious|nervous|dizzy|nauseous|cold feet|hay fever)\b|^I (?:suffer from|struggle with|am prone to)\b",
            re.I,
        ),
        whole("condition", PERSONAL, PREFERENCES),
    ),
    (
        "affects_me",
        re.compile(
            r"^(?!(?:I|you|it|that|this|there|please|can|could|would|will|do|does)\b)[\w' -]{3,40}? "
            r"(?:gives?|makes?|drives?|wears?|keeps?|bothers?|scares?|stresses?|worries?|relaxes?|calms?) me\b",
            re.I,
        ),
        whole("affects_me", PREFERENCES, PERSONAL),
    ),
    (
        "their_news",
        re.compile(
            r"^(?-i:[A-Z][a-z]+(?: [A-Z][a-z]+)?) (?:just |recently |finally |has )*(?:got (?:hired|married|"
            r"engaged|promoted|a (?:new )?job)|is moving|moved|has been (?:completely |really )?(?:obsessed|into|"
            r"\w+ing)|started|is starting|adopted|graduated|retired|passed away|had a baby|is pregnant|"
            r"is expecting|quit|bought a|became)\b",
            re.I,
        ),
        whole("their_news", DETAILS, PERSONAL),
    ),
    ("the_detail", THE_DETAIL, build_the_detail),
    ("dated_detail", re.compile(r"^(?:I|my)\b", re.I), build_dated),
]


_OUR = re.compile(r"^our\s+", re.I)
_WE_HAVE = re.compile(r"^we (have|own|adopted|got) (?=(?:a|an|one|two|three|\d+)\b)", re.I)


def classify(clause: str, ctx: Context, *, allow_retraction: bool = True) -> Match | None:
    """The first rule matching a (first-person) clause, as a third-person fact with preferred topics."""
    text = expand_first_person(clause.strip().rstrip(" .!"))
    # "our twins", "we have a cat": the user's household speaks through the user
    text = _WE_HAVE.sub(r"I \1 ", _OUR.sub("my ", text))
    for name, pattern, build in RULES:
        if name == "no_longer" and not allow_retraction:
            continue
        m = pattern.search(text)
        if m is None:
            continue
        result = build(m, text, ctx)
        if result is None:
            continue
        return Match(finish(result.fact), result.topics, result.rule)
    return None


def finish(fact: str) -> str:
    fact = re.sub(r"\s+", " ", fact).strip().rstrip(" .!,;:")
    return fact[:1].upper() + fact[1:]
