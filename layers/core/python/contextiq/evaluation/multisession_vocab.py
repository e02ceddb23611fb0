"""Vocabularies of the multi-session evaluation set (:mod:`contextiq.evaluation.multisession`).

Written for this repository, not taken from any benchmark: everyday requests a user makes of an assistant
(the filler that makes up most of a real conversation), decoy requests that share the words questions use
without answering them, people and their news, dated events, and statements a question can only be
answered from by inference. Placeholders are filled by :func:`contextiq.evaluation.templates.fill`.
"""

from __future__ import annotations


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PEOPLE = _split(
    "Julia Paul Karim Hana Tomas Mirela Sipho Anika Diego Leila Ruben Astrid Chen Olga Mateo Noor Felix Imani "
    "Pablo Sanne Yusuf Greta Ravi Lucia Emeka Freya Jamal Ilse"
)
#: (how the user names the person, how a question names them without that word); no sibling: the
#: sibling fact template would make "the user's sibling" ambiguous
RELATIONS = (
    ("godmother", "godparent"),
    ("manager", "boss"),
    ("best friend", "closest friend"),
    ("neighbour", "next-door resident"),
    ("cousin", "relative"),
    ("colleague", "coworker"),
    ("old roommate", "former flatmate"),
)
NEW_JOBS = ("a paramedic", "a librarian", "a carpenter", "a flight attendant", "a tax advisor", "a florist")
NEW_CITIES = _split("Porto Gdansk Halifax Tallinn Bergen Cork Ghent Bologna Nagoya Cusco")
NEW_HOBBIES = ("pottery", "fencing", "beekeeping", "salsa dancing", "woodworking", "archery")
VETS = _split("Okafor Lindqvist Haddad Moreau Tanaka Novak")
ORGS = ("the food bank", "the animal shelter", "the community garden", "the youth football club")
ORG_EVENTS = ("fundraiser", "open day", "charity run", "volunteer dinner")

#: A news item about a person: what the user says (with {name}), the question by relation only (with
#: {alias}), the answer, and the question as a user would usually ask it, sharing words with both turns
#: (the relation the person was introduced with, {rel}, and a word of the news).
PERSON_NEWS = (
    ("{name} just got hired as {job} and starts soon.", "What is the new occupation of {ref}'s {alias}?", "{job}",
     "What was {ref}'s {rel} hired as?"),
    ("Big news from {name}: moving to {city} at the end of the month.",
     "Which city is {ref}'s {alias} relocating to?", "{city}", "Where is {ref}'s {rel} moving to?"),
    ("{name} has been completely obsessed with {hobby} lately.", "What pastime has {ref}'s {alias} taken up?",
     "{hobby}", "What has {ref}'s {rel} been obsessed with lately?"),
)  # fmt: skip
#: How a person is introduced, in an earlier session.
PERSON_INTROS = (
    "I had lunch with my {rel} {name} today, it was lovely.",
    "My {rel} {name} called me this morning and we talked for an hour.",
    "My {rel} is {name}, we talk almost every day.",
)

#: Dated events: (what the user did, a paraphrase for questions, a short noun for ordering questions, how
#: a user would usually ask about it, with the words that were said)
EVENTS = (
    ("went to a {band} concert", "see live music", "concert", "go to the {band} concert"),
    ("ran a half marathon", "take part in a long-distance race", "race", "run the half marathon"),
    ("had a job interview at {company}", "have a hiring conversation with a company", "interview",
     "have the job interview at {company}"),
    ("visited the science museum", "tour an exhibition about physics and chemistry", "museum visit",
     "visit the science museum"),
    ("started a pottery class", "begin a ceramics course", "class", "start the pottery class"),
    ("got my flu shot", "get vaccinated", "vaccination", "get a flu shot"),
    ("hosted a dinner party for eight people", "have guests over for an evening meal", "dinner party",
     "host a dinner party"),
    ("went camping at {park}", "sleep outdoors in a tent", "camping trip", "go camping at {park}"),
    ("sold my old bike", "get rid of a bicycle", "sale", "sell the old bike"),
    ("passed my driving test", "get a licence to drive", "test", "pass the driving test"),
)  # fmt: skip
BANDS = _split("Coldplay Radiohead Metallica Adele Queen Muse Blur Bjork")
PARKS = ("Yosemite", "the Lake District", "Banff", "the Black Forest", "Zion")
EVENT_COMPANIES = _split("Globex Initech Hooli Contoso Fabrikam Northwind")
#: Relative day words and how far back they point (days); "last Saturday" is computed from the weekday.
WHEN_SAID = (("yesterday", 1), ("two days ago", 2), ("this morning", 0), ("last Saturday", None))

#: Inference: a statement, a question answerable only by inference from it (sharing none of its words),
#: the expected answer, and the question as a user would more often ask it, sharing a word of the
#: statement (an object, a place, an activity) while still needing the inference.
INFERENCES = (
    ("I spend most weekends on mountain trails with my boots and a map.",
     "Would {ref} enjoy an outdoor adventure holiday?", "yes", "Would {ref} like a holiday walking mountain trails?"),
    ("I've been baking sourdough loaves every Sunday for a year.",
     "What kind of present might suit {ref}'s kitchen hobby?", "baking equipment",
     "What gift would suit {ref}'s sourdough habit?"),
    ("My knees ache whenever I jog more than a couple of kilometres.",
     "Is an intense running programme a good idea for {ref}?", "no", "Should {ref} jog ten kilometres a day?"),
    ("I get seasick even on short ferry rides.", "Should {ref} book a cruise holiday?", "no",
     "Would {ref} enjoy a week-long ferry or cruise trip?"),
    ("I've been learning Japanese with an app every evening.", "Which country might {ref} like to visit?",
     "Japan", "Which country's language is {ref} learning?"),
    ("I'm saving every spare coin for a house deposit.", "Is {ref} likely to splurge on a luxury watch?", "no",
     "Is {ref} saving money or spending it?"),
    ("Our twins start kindergarten in September.", "Does {ref} have young children?", "yes",
     "Does {ref} have kids starting kindergarten?"),
    ("Night shifts at the hospital wear me out.", "What kind of working hours does {ref} keep?", "night shifts",
     "Does {ref} work at a hospital?"),
    ("I never go anywhere without my sketchbook and pencils.", "Is {ref} artistic?", "yes",
     "Does {ref} like to draw in a sketchbook?"),
    ("I cycle forty minutes to the office every day, rain or shine.", "How does {ref} commute?", "by bike",
     "How does {ref} get to the office?"),
    ("Spicy food gives me terrible heartburn.", "Would a fiery vindaloo be a good dinner choice for {ref}?",
     "no", "Can {ref} eat spicy food?"),
    ("I finally finished my PhD thesis on coral reefs.", "What field did {ref} do research in?",
     "marine biology", "What was {ref}'s PhD about?"),
    ("My grandmother taught me to knit scarves when I was six.", "Can {ref} make clothes by hand?", "yes",
     "Can {ref} knit?"),
    ("I volunteer at the animal shelter every Thursday evening.", "Does {ref} do unpaid work for a good cause?",
     "yes", "Does {ref} volunteer with animals?"),
    ("Crowded stadiums make me anxious, I prefer watching games at home.",
     "Would {ref} like tickets to a sold-out final?", "probably not", "Would {ref} enjoy a crowded stadium final?"),
    ("I've run the same vintage record shop for twenty years.", "Does {ref} own a business?", "yes",
     "Does {ref} run a shop?"),
)  # fmt: skip

#: Everyday requests and answers: most turns of a real conversation reveal nothing lasting.
FILLERS = (
    ("Can you give me a quick recipe for a weeknight pasta?",
     "Sure: fry garlic in olive oil, add chopped tomatoes and chilli, simmer ten minutes and toss with the "
     "pasta and a handful of basil."),
    ("What's a polite way to decline a meeting invitation?",
     "You could write: thank you for the invitation, unfortunately I can't attend, could you share the notes "
     "afterwards?"),
    ("How do I convert 180 degrees Celsius to Fahrenheit?", "Multiply by 9/5 and add 32: that gives 356 F."),
    ("Can you explain what a Python list comprehension is?",
     "It builds a list from an expression and a loop in one line, for example [x * x for x in range(5)]."),
    ("What's the difference between a virus and a bacterium?",
     "Bacteria are living single cells that can reproduce on their own; viruses need a host cell to copy "
     "themselves."),
    ("Summarise the plot of Hamlet in two sentences.",
     "A Danish prince learns his uncle murdered his father and seizes the throne. His hesitant revenge ends "
     "in the death of almost everyone at court."),
    ("Give me three ideas for a team icebreaker.",
     "Two truths and a lie, a one-word check-in, or everyone shares the best thing they ate this week."),
    ("How long should I boil an egg for a soft yolk?", "About six minutes from boiling water, then cold water."),
    ("What does APR mean on a credit card?", "Annual percentage rate: the yearly cost of borrowing, fees included."),
    ("Can you proofread this sentence: their going to the store tomorrow?",
     "It should be: they're going to the store tomorrow."),
    ("What's a good stretch for a stiff neck?",
     "Slowly tilt your ear towards your shoulder and hold for twenty seconds on each side."),
    ("Why is the sky blue?", "Air molecules scatter short blue wavelengths of sunlight more than red ones."),
    ("Help me write a short thank-you note to a teacher.",
     "Thank you for your patience and encouragement this year; it made a real difference."),
    ("What's the capital of Australia?", "Canberra, not Sydney, as many people think."),
    ("How many tablespoons are in a cup?", "Sixteen US tablespoons make one US cup."),
    ("Can you suggest a name for a book club?", "How about The Page Turners or Chapter and Verse?"),
    ("What is compound interest?", "Interest earned on both the original amount and the interest added before."),
    ("Translate 'good morning' into Italian.", "Buongiorno."),
    ("Give me a fun fact about octopuses.", "They have three hearts and blue blood."),
    ("What's the best way to keep basil fresh?",
     "Trim the stems and keep it in a glass of water on the counter, like flowers."),
    ("How do I remove a coffee stain from a shirt?",
     "Blot it, rinse from the back with cold water, then treat it with a little liquid detergent."),
    ("Can you recommend a podcast about history?",
     "Many people like long-form narrative shows that cover one era over several episodes."),
    ("What's the rule for using 'fewer' versus 'less'?",
     "Fewer for things you can count, less for amounts you can't."),
    ("How do I politely remind someone about an unpaid invoice?",
     "Keep it friendly: attach the invoice, mention the due date, and ask whether anything is unclear."),
)  # fmt: skip

#: Requests that share the words questions use (city, home, work, food, animal, money...) and answer
#: none of them: they keep a keyword search from finding the evidence by vocabulary alone.
DECOYS = (
    ("Which city in Europe is best for a weekend away?",
     "It depends on what you like; many people pick a walkable city with good food and museums."),
    ("What makes a house feel like home?", "Light, plants, and a few objects with a story usually do it."),
    ("What do people usually do for fun in winter?", "Skating, board games, cooking projects and cosy films."),
    ("How much money should someone spend on a first bike?",
     "A reliable used bike often costs less than a new entry model and lasts for years."),
    ("Which language is the hardest to learn for English speakers?",
     "Languages with new scripts and tones, such as Mandarin or Arabic, usually take longest."),
    ("What food is good to bring to a potluck?", "A big salad, a pasta bake or a tray of roasted vegetables."),
    ("Which animal makes the best pet for a small flat?", "Cats and small rodents adapt well to flats."),
    ("What should I wear to work on a hot day?", "Light linen or cotton in loose cuts."),
    ("How do airlines decide which seat you get?",
     "Unless you pick one, seats are assigned at check-in from what is left."),
    ("What do children usually enjoy at a birthday party?", "Games with small prizes, music and cake."),
    ("Which musical instrument is easiest to start with?", "The ukulele: four strings and simple chords."),
    ("What vehicle is best for a family road trip?", "Something with space for luggage and good fuel economy."),
    ("How should someone prepare for a big test?", "Spread the revision out, sleep well and practise old papers."),
    ("When is the best time of year to travel by plane?", "Shoulder seasons are usually cheaper and calmer."),
    ("What job pays well without a degree?", "Skilled trades such as electricians and plumbers often do."),
    ("Who should I ask for advice about a new company?",
     "Someone who has worked there, or a mentor in the same industry."),
    ("What is a good gift for a sibling who has everything?", "An experience, like a cooking class or a concert."),
    ("Which hobby helps with stress?", "Gardening, walking and knitting are often recommended."),
    ("What do I need to know before adopting a dog?", "Time, space, budget for the vet, and training."),
    ("Where do people usually live when they move abroad for work?",
     "Often near the office at first, then wherever suits their life."),
)  # fmt: skip

#: Words that do not make a question share content with its evidence (multisession._phrasing).
STOPWORDS = frozenset(
    _split(
        "the and for are was were has have had did does what when where which who how why would could should can "
        "with from about into this that there their them they you your its his her our out not but any all one "
        "day lately soon"
    )
)

GREETINGS_FIRST = ("Hi, my name is {name}.", "Hello! I'm {name}.", "Hey there, this is {name}.")
GREETINGS_LATER = ("Hi again!", "Hello, it's me again.", "Good morning!", "Hey, got a few minutes?")
GREETING_REPLIES = ("Hello! How can I help today?", "Hi! What can I do for you?")
WELCOME_BACK = ("Welcome back!", "Good to hear from you again.")
ACKNOWLEDGEMENTS = (
    "Thanks for sharing that.",
    "Good to know, I'll keep it in mind.",
    "That's great to hear!",
    "Got it.",
    "Oh, how exciting!",
)
CLOSINGS = ("Thanks, that's all for today.", "Great, talk soon!", "Perfect, thank you.")
CLOSING_REPLIES = ("You're welcome, see you next time!", "Anytime. Have a good day!")

#: Something the user does that changes over time: said once before an anchor event and once after it,
#: so only the anchor tells the two apart. (statement with {x}, the values, the question's verb phrase
#: with {ref}, the assistant's reply)
HABITS = (
    ("I'm reading {x} at the moment.", ("Dune", "Middlemarch", "Beloved", "Neuromancer", "Persuasion", "Ulysses"),
     "What was {ref} reading", "Good choice, enjoy it!"),
    ("My evening workout these days is {x}.", ("rowing", "yoga", "swimming", "kickboxing", "spinning", "pilates"),
     "What was {ref}'s evening workout", "Nice routine."),
    ("I've been learning {x} on my commute.", ("Italian", "Japanese", "Greek", "Turkish", "Swahili", "Korean"),
     "Which language was {ref} learning", "Good luck with it!"),
    ("For lunch I mostly have {x} now.", ("ramen", "falafel wraps", "lentil soup", "poke bowls", "burritos",
     "bento boxes"), "What did {ref} mostly have for lunch", "Sounds tasty."),
)  # fmt: skip

#: Events a later question uses as a time anchor: what the user says when it happens, and how a question
#: names it ({pos}: "Ana's" / "the user's"; {place} fills both).
ANCHOR_EVENTS = (
    ("I just got back from my trip to {place}.", "{pos} trip to {place}"),
    ("We finally had the wedding at {place} last weekend, it was beautiful.", "the wedding at {place}"),
    ("I started the new job at {company} this week.", "{ref} started the new job at {company}"),
    ("The surgery on my knee went fine, I'm home from the hospital.", "{pos} knee surgery"),
    ("We moved into the new flat near {place} on Saturday.", "the move to the flat near {place}"),
)  # fmt: skip
