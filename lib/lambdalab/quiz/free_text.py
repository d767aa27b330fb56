"""Free-text answers judged by rules: right only when the answer states the key idea, never when it denies it.

A question's rules (in its YAML) are ``ideas`` and ``wrong``:

- ``ideas``: ways of stating the key idea. Each idea is a list of concept groups; a group is a list of phrases that say
  the same thing. An answer states an idea when it has a phrase from every group of it, none of them negated.
- ``wrong``: phrases that make an answer wrong when stated (not negated): the opposite claim ("no effect"), a reversal
  ("environment variables ... safer"), another service ("sns").

Phrase syntax: words as a learner writes them (case and punctuation do not matter); ``{a|b}`` for alternatives;
``...`` for a gap of up to four words inside one clause; a leading ``not`` means the rest must be negated ("not plain
text" is stated by "it is never shown in plain text").

Negation: "not", "no", "never", "without", "doesn't", "rather than", "less", "fewer"... negate the next four words of
their clause (clauses end at punctuation and at "but", "so", "because"...), unless the negator is part of a phrase of
the rules ("no more than it needs" is a phrase that limits, not a negation). Typos: a word of five letters or more
that is one edit from a word of the rules (two edits from nine letters) is read as that word.

The verdict has three outcomes. CORRECT: an idea is stated, nothing is negated or wrong, and every word of the answer
is known (a word of the rules, the question, its explanation or ``HARMLESS``): an unknown word such as "down" or
"skip" could turn a right-sounding answer around. INCORRECT: a wrong phrase is stated, or an idea's phrase is negated
and no idea is stated. UNSURE: anything else. The grader would rather say
"cannot tell" (the learner then compares with the model answer) than call a wrong answer right.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

CORRECT, INCORRECT, UNSURE = "correct", "incorrect", "unsure"
GAP = "..."
GAP_WORDS = 4  # a "..." gap spans at most this many words
NEGATION_SCOPE = 4  # a negator negates at most this many following words of its clause
NEGATORS = frozenset({
    "not", "no", "never", "without", "nor", "neither", "none", "nothing", "cannot", "cant", "dont", "doesnt", "didnt",
    "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "hasnt", "havent", "unlike", "nobody",
    # verbs that deny what follows: "skip encryption" does not say "encryption"
    "skip", "skips", "skipping", "avoid", "avoids", "bypass", "bypasses", "lack", "lacks", "lacking", "missing",
    "disable", "disables", "disabled", "loses", "lose",
    # diminishers: "less secure" does not say "secure", "fewer CPU" does not say "more CPU"
    "less", "lower", "fewer", "worse", "weaker", "reduce", "reduces", "reduced", "decrease", "decreases",
    "decreased", "lowers",
})
NEGATOR_PHRASES = (("rather", "than"), ("instead", "of"), ("other", "than"), ("as", "opposed", "to"))
CLAUSE_WORDS = frozenset({"but", "however", "whereas", "while", "although", "though", "so", "because", "since",
                          "therefore", "then", "yet"})
DONT_KNOW = ("dont know", "no idea", "not sure", "idk", "unsure", "no clue", "pass")
# Words that are never read as a typo of a rule word: each is a real word one or two edits from a likely rule word.
KNOWN_WORDS = frozenset({"decrease", "decreases", "decreased", "increase", "increases", "increased", "secure",
                         "insecure", "unsecure", "linear", "nonlinear", "faster", "slower", "cheaper", "proportion",
                         "disproportionate", "needed", "needs", "later", "latest", "letter", "changes", "chances",
                         "charges", "change", "charge", "chance", "bridge", "fridge", "stream", "streams", "roles",
                         "rules", "rule", "role", "events", "event", "every", "fewer", "newer", "fewest", "lowest",
                         "least", "lease", "leads", "reads", "writes", "write", "wrote", "rotate", "rotates",
                         "notate", "relate", "related", "create", "created", "memory", "memo", "scales", "scaled",
                         "sales", "scale", "shale", "access", "assess", "accent", "excess", "admin", "adding"})

# Words that do not change what an answer claims: function words and the course's own nouns. Any other word that the
# rules do not know ("goes down", "skip") may turn a right-sounding answer around, so such an answer is UNSURE.
HARMLESS = frozenset("""
a an the it its is are was were be been being am to of in on at by for from with into onto via as than that this these
those which who what when where how and or also too both each any some i you your we our they them their he she one
ones can will would should must do does did have has had get gets got getting give gives given giving make makes made
mean means lets let allow allows allowed using use uses used there here now think answer yes well etc eg ie if own
lambda function functions code handler aws amazon service services table tables item items data record records event
events stream streams dynamodb secret secrets manager password passwords credential credentials database databases db
role roles iam execution policy policies privilege privileges permission permissions action actions resource resources
s3 bucket buckets object objects console configuration config setting settings configure configured mb gb kb memory
ram value values key keys level target targets rule rules pattern patterns bus default invoke invokes invoked
invocation trigger triggers triggered process processes processed processing handle handles handled system systems
log logs time times second seconds per up about full specific exact set sets add adds adding allocated allocation
allocates capacity share power kept keep keeps see sees view views anyone known previously formerly called named
matching match matches send sends sent route routes routing equal equals together tied run runs running based
automatic automatically react reacts reacting reaction respond responds act acts capture flow flows deploy redeploy
redeploying redeployment rest schedule change changes need needs stay stays whats thats rather instead central
centralized centrally improved tighter getobject putobject getsecretvalue reach reaches kms arn arns sdk boto3 api
apis json http vpc account accounts region cloud cloudwatch opensearch elasticsearch serverless application app client
clients user users customer customers developer developers team amount thing things way ways else supports support
provides provide push pushes pushed deliver delivers delivered authorized authorised scope scoped exact used current
moment logic needed required id ill ive almost nearly
""".split())

# --- phrases ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phrase:
    """One phrase of the rules: its words (``...`` marks a gap) and whether it must be negated to count."""

    words: tuple[str, ...]
    negated: bool = False
    text: str = ""


def _norm_words(text: str) -> list[str]:
    """Lower-case words; apostrophes dropped ("doesn't" -> "doesnt"), ``*`` read as "wildcard", 1,769 -> 1769."""
    text = str(text).lower().replace("\u2019", "'").replace("'", "").replace("*", " wildcard ")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).replace("...", " gapmarker ")
    return [GAP if w == "gapmarker" else w for w in re.split(r"[^a-z0-9]+", text) if w]


def compile_phrase(text: str) -> list[Phrase]:
    """``"{env var|environment variable} ... safer"`` -> one ``Phrase`` per alternative."""
    text = str(text).strip()
    negated = text.lower().startswith("not ")
    body = text[4:] if negated else text
    parts = re.split(r"(\{[^{}]*\})", body)
    choices = [p[1:-1].split("|") if p.startswith("{") else [p] for p in parts]
    out = []
    for combo in itertools.product(*choices):
        words = tuple(_norm_words("".join(combo)))
        if words and any(w != GAP for w in words):
            out.append(Phrase(words, negated, text))
    if not out:
        raise ValueError(f"The phrase {text!r} has no words; write the words a learner would use.")
    return out


@dataclass(frozen=True)
class Rules:
    """A question's compiled rules: ideas (lists of groups of phrases), wrong phrases, and the words they use."""

    ideas: tuple[tuple[tuple[Phrase, ...], ...], ...]
    wrong: tuple[Phrase, ...]
    vocabulary: frozenset

    @classmethod
    def from_spec(cls, ideas, wrong=(), accepted=(), context="") -> "Rules":
        """``context``: the question and its explanation; their words are known (they cannot turn an answer)."""
        compiled = tuple(tuple(tuple(p for text in group for p in compile_phrase(text)) for group in idea)
                         for idea in ideas)
        wrong_c = tuple(p for text in wrong for p in compile_phrase(text))
        phrases = [p for idea in compiled for group in idea for p in group] + list(wrong_c)
        vocab = {w for p in phrases for w in p.words if w != GAP}
        vocab |= {w for a in [*accepted, context] for w in _norm_words(a) if w != GAP}
        vocab |= NEGATORS | CLAUSE_WORDS | HARMLESS
        return cls(compiled, wrong_c, frozenset(vocab))


# --- the answer -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    word: str
    clause: int


BOUNDARY = re.compile(r"[;!?()\[\]=]|[.:,](?=\s|$)|\s[-\u2013\u2014]+\s|->|\s/\s")


def tokenize(answer: str) -> list[Token]:
    """Words with the number of the clause each is in (punctuation and words like "but" or "so" end a clause)."""
    tokens, clause = [], 0
    for piece in BOUNDARY.split(str(answer)):
        clause += 1
        for w in _norm_words(piece.replace("...", " ")):
            if w in CLAUSE_WORDS:
                clause += 1
                continue
            tokens.append(Token(w, clause))
    return tokens


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two letters is one edit), cut off above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def correct_typos(tokens: list[Token], vocabulary) -> list[Token]:
    """Read a misspelt word as the one rule word it is closest to (one edit; two from nine letters), if unique."""
    return [Token(nearest_word(t.word, frozenset(vocabulary)), t.clause) for t in tokens]


@functools.lru_cache(maxsize=4096)
def nearest_word(word: str, vocabulary: frozenset) -> str:
    if len(word) < 5 or word in vocabulary or word in KNOWN_WORDS or word.isdigit():
        return word
    limit = 2 if len(word) >= 9 else 1
    scored = sorted((_edits(word, v, limit), v) for v in vocabulary if len(v) >= 4 and abs(len(v) - len(word)) <= limit)
    best = [v for d, v in scored if d <= limit and d == scored[0][0]] if scored else []
    return best[0] if len(best) == 1 else word


# --- matching ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    phrase: Phrase
    start: int
    positions: tuple[int, ...]


def find(phrase: Phrase, tokens: list[Token]) -> list[Match]:
    """Every place ``phrase`` occurs (gaps stay inside one clause)."""
    words = phrase.words
    found = []

    def walk(wi: int, ti: int, taken: tuple[int, ...], clause: int):
        if wi == len(words):
            found.append(Match(phrase, taken[0], taken))
            return
        if words[wi] == GAP:
            for skip in range(GAP_WORDS + 1):
                nxt = ti + skip
                if nxt < len(tokens) and tokens[nxt].clause == clause:
                    walk(wi + 1, nxt, taken, clause)
            return
        if ti < len(tokens) and tokens[ti].word == words[wi] and (not taken or tokens[ti].clause == clause):
            walk(wi + 1, ti + 1, taken + (ti,), tokens[ti].clause)

    for start in range(len(tokens)):
        if tokens[start].word == words[0 if words[0] != GAP else 1]:
            walk(0 if words[0] != GAP else 1, start, (), tokens[start].clause)
    return list({m.positions: m for m in found}.values())


def negators(tokens: list[Token], consumed: set[int]) -> list[int]:
    """Positions of the words that negate what follows (not those inside a phrase of the rules)."""
    spots = [i for i, t in enumerate(tokens) if t.word in NEGATORS and i not in consumed]
    for phrase in NEGATOR_PHRASES:
        n = len(phrase)
        spots += [i + n - 1 for i in range(len(tokens) - n + 1)
                  if tuple(t.word for t in tokens[i:i + n]) == phrase and i not in consumed]
    return spots


def is_negated(match: Match, tokens: list[Token], negs: list[int]) -> bool:
    start = match.positions[0]
    clause = tokens[start].clause
    return any(start - NEGATION_SCOPE <= j < start and tokens[j].clause == clause for j in negs)


@dataclass(frozen=True)
class Verdict:
    """The outcome (CORRECT, INCORRECT or UNSURE) and, for tests and curious learners, why."""

    outcome: str
    reason: str


def judge(rules: Rules, answer: str) -> Verdict:
    tokens = correct_typos(tokenize(answer), rules.vocabulary)
    if not tokens:
        return Verdict(UNSURE, "no words")
    matches = {p: find(p, tokens) for idea in rules.ideas for group in idea for p in group}
    wrong = {p: find(p, tokens) for p in rules.wrong}
    # a negator inside a phrase that was found ("no more than", "not fixed") is part of that phrase, not a negation
    consumed = {i for found in [*matches.values(), *wrong.values()] for m in found for i in m.positions}
    negs = negators(tokens, consumed)
    text = " ".join(t.word for t in tokens)

    for p, found in wrong.items():
        for m in found:
            if not is_negated(m, tokens, negs):
                return Verdict(INCORRECT, f"states {p.text!r}")

    def states(p: Phrase) -> bool:
        return any(is_negated(m, tokens, negs) == p.negated for m in matches[p])

    denied = [p.text for idea in rules.ideas for group in idea for p in group
              if not p.negated and any(is_negated(m, tokens, negs) for m in matches[p])]
    stated = [idea for idea in rules.ideas if all(any(states(p) for p in group) for group in idea)]
    if stated and not denied:
        unknown = [t.word for t in tokens if t.word not in rules.vocabulary and not t.word.isdigit()]
        if unknown:
            return Verdict(UNSURE, f"states the key idea, but {unknown[0]!r} may change what it says")
        return Verdict(CORRECT, "states the key idea")
    if denied and not stated:
        return Verdict(INCORRECT, f"negates {denied[0]!r}")
    if denied:
        return Verdict(UNSURE, f"states the key idea but also negates {denied[0]!r}")
    if any(re.search(rf"(^| ){re.escape(d)}( |$)", text) for d in DONT_KNOW):
        return Verdict(INCORRECT, "says it does not know")
    return Verdict(UNSURE, "does not state the key idea in words the rules know")
