"""Blame-language lint: flag sentences that point at a person instead of the system.

A substring search over seed 001's indicators flags half of any postmortem, because
systems "fail to" do things too: "the health check failed to detect the outage" is a
finding, not blame. So an indicator is one of two kinds:

* unambiguous ("careless", "human error", "dropped the ball") always flags, unless a
  negation opens its clause ("this was not human error");
* ambiguous ("failed to", "forgot", "ignored", "should have", "fault of") flags only
  when its actor is a person. The actor is the agent after "fault of", "mistake by"
  or a passive ("was ignored by the on-call"), else the subject of the indicator's
  clause. A person is a pronoun (he, they, we, someone, nobody...), a role noun
  (engineer, on-call, SRE, team...) or a capitalised word not known as a thing (a
  first name). A thing (check, job, database, Kafka...) or an unknown subject leaves
  the sentence alone: a lint that nags blameless authors gets ignored, so missing a
  sentence is better than flagging a system.

Matching is case-insensitive on whole words; hyphens join words ("blame-free",
"lazy-loaded" do not match). No stemming: "forgotten" and "blamed" are indicators of
their own, "blameless" never matches "blame". A sentence ends at . ! ? plus space
(not after "e.g.", "etc."...) or at a newline, unless a lower-case letter follows: a
wrapped line goes on, a list item or a heading starts anew.
See docs/decisions/0002-blame-lint-subjects.md.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.core.settings import BlameIndicatorEntry, Settings, parse_blame_indicators


@dataclass(frozen=True)
class Indicator:
    phrase: str
    suggestion: str
    ambiguous: bool = False  # flag only when the actor is a person

    def __post_init__(self) -> None:
        if not re.search(r"\w", self.phrase):  # an empty pattern would match everywhere
            raise ValueError(f"a blame indicator needs a phrase with a word in it, got {self.phrase!r}")


@dataclass(frozen=True)
class BlameIssue:
    sentence: str
    indicator: str
    suggestion: str
    start: int  # offsets of the matched words in the original text
    end: int


def _group(suggestion: str, phrases: str) -> tuple[Indicator, ...]:
    # "~phrase" marks an ambiguous indicator, as in LOOPGATE_BLAME_INDICATORS.
    return tuple(Indicator(p.lstrip("~"), suggestion, p.startswith("~")) for p in phrases.split("|"))


GENERIC_SUGGESTION = "Focus on the system, not the person: what made this easy to get wrong?"
_ALLOWED = "Say what the system allowed: 'the console allowed … without a confirmation'."
_CULPRIT = "Name the contributing conditions, not a culprit: 'factors that contributed were …'."
DEFAULT_INDICATORS: tuple[Indicator, ...] = (
    *_group("Describe what the system made easy or hard: 'the runbook did not cover…', 'nothing "
            "prompted a load test…'.", "~should have|~should've|~should not have|~shouldn't have"),
    *_group("Hindsight makes it look obvious: say what the person knew at the time and what would "
            "have surfaced the rest.", "should have known|should've known|should have been obvious"),
    *_group("Describe the missing safeguard: 'nothing reminded…', 'the process did not include…', "
            "'no check caught…'.", "~failed to|~forgot|~forgotten|~neglected|~overlooked|"
            "~didn't check|~did not check|~didn't notice|~did not notice"),
    *_group("Ask what made the process easy to skip: was it clear, current and where people work?",
            "~didn't follow|~did not follow"),
    *_group("Describe what competed for attention: 'the alert was one of 40 that hour…'.", "~ignored"),
    *_group("Describe the conditions, not the character: which pressures, time or tools shaped the "
            "work? 'The safeguards did not prevent…'.", "careless|carelessly|carelessness|negligent|"
            "negligently|negligence|incompetent|incompetence|sloppy|sloppiness|lazy|laziness|reckless|"
            "recklessly|irresponsible|stupid|inattentive|didn't bother|did not bother|not paying "
            "attention|wasn't paying attention|weren't paying attention|didn't pay attention"),
    *_group(_ALLOWED, "human error|human mistake|operator error|dropped the ball"),
    *_group(_ALLOWED, "~mistake by|~made a mistake|~screwed up|~messed up"),
    *_group(_CULPRIT, "blame|blamed|to blame|whose fault"),
    *_group(_CULPRIT, "~fault of|~at fault|~responsible for the outage|~responsible for the incident"),
)

PERSON, THING = "person", "thing"
_PERSON_PRONOUNS = frozenset("i we you he she they me us him them someone somebody anyone anybody "
                             "nobody everyone everybody whoever".split())
_THING_PRONOUNS = frozenset("it there this these those something nothing everything".split())
_PEOPLE = frozenset("""engineer on-call oncall on-caller responder developer dev programmer admin
    administrator sre dba operator member manager lead reviewer approver author person people staff
    contractor employee intern hire newcomer team teammate colleague commander ic human individual
    analyst tester consultant ops owner assignee leadership leader management director
    executive""".split())
# Things, and ordinary words that open sentences: known here so the first-name rule skips them.
_THINGS = frozenset("""system service check healthcheck probe alert alerting alarm monitor monitoring
    dashboard page pager paging deploy deployment rollout rollback release canary build pipeline job
    cron cronjob script tool tooling automation bot test suite linter config configuration setting
    flag threshold policy rule runbook playbook doc documentation process procedure checklist
    database db replica primary cache queue broker topic consumer producer worker scheduler
    autoscaler cluster node host server pod container image instance vm disk storage volume network
    dns certificate cert firewall proxy gateway balancer router controller loader parser client
    library sdk driver api endpoint handler function lambda webhook hook integration migration
    backup snapshot index query replication failover logic code change patch upgrade update request
    traffic memory cpu latency throughput load data app application binary kernel firmware retry
    timeout lock breaker sidecar agent daemon tls vpn schema table root cause summary impact
    timeline incident outage error bug issue problem condition race spike kubernetes k8s postgres
    postgresql mysql redis nginx terraform ansible jenkins consul vault kafka rabbitmq elasticsearch
    aws gcp azure pagerduty jira datadog grafana prometheus github gitlab docker helm envoy istio
    cloudflare s3 ec2 rds argo argocd celery sentry splunk slack rotation schedule escalation""".split())
_FILLER = frozenset("""the a an our their his her my your its this these those some any each every
    all both no another in on at of for to from with by during after before since until about into
    over under between through within without per via as than like near across was were is are be
    been being am had has have having did do does will would could should can may might must shall
    got get gets not also just then still again already even never only too either instead utc gmt
    today yesterday tonight morning afternoon evening night monday tuesday wednesday thursday friday
    saturday sunday january february march april june july august september october november
    december""".split())
_NEGATORS = frozenset("no not never without nobody none nothing neither nor cannot".split())
_BE = frozenset("was were is are be been being got".split())
_NOT_NAME = ("tion", "sion", "ment", "ness", "ity", "ing", "ance", "ence", "ure", "ism", "ogy", "age")
_ABBREVIATIONS = frozenset("e.g i.e etc vs approx cf a.m p.m mr mrs ms dr inc".split())

_TOKEN = re.compile(r"\w[\w'’-]*")
# Clause boundaries: the subject of "failed to" lives in its own clause, not the one before.
_CLAUSE = re.compile(r"([,;:()\[\]—–]|\s-\s|\b(?:and|but|or|so|because|since|when|whenever|while"
                     r"|after|before|although|though|until|once|if|whereas|then|that|which|who"
                     r"|whom|where)\b)", re.IGNORECASE)
_BY_AGENT = re.compile(r"\s*(?:[\w'’-]+\s+){0,4}?by\s+(.*)", re.IGNORECASE | re.DOTALL)
# Technical terms that contain an indicator but say nothing about people.
_NEUTRAL_TERMS = re.compile(r"\b(?:git\s+blame|sloppy\s+quorum|lazy\s+(?:load|init|eval|import)\w*)",
                            re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+[\"'’”)\]]*\s+|\n\s*")  # (?<!) keeps "....." linear
_WINDOW = 300  # characters around an indicator where its actor is looked for
_MARKER = re.compile(r"[\s\-*•>#]*(?:\d+[.)]\s+)?")  # list and heading markers are not prose


def lint_blame(text: str, indicators: Sequence[Indicator] = DEFAULT_INDICATORS) -> list[BlameIssue]:
    """Blame language in `text`, one issue per matched indicator, ordered by start offset."""
    return list(_lint(text, tuple(indicators)))


@lru_cache(maxsize=4096)
def _lint(text: str, indicators: tuple[Indicator, ...]) -> tuple[BlameIssue, ...]:
    # Cached: every postmortem read and every gate check re-lints the same, mostly unchanged texts.
    pattern, by_group = _compile(indicators)
    issues = []
    for start, end in _sentences(text):
        sentence = text[start:end]
        exempt = [m.span() for m in _NEUTRAL_TERMS.finditer(text, start, end)]
        for match in pattern.finditer(text, start, end):
            assert match.lastgroup is not None  # every alternative of the pattern is a named group
            indicator = by_group[match.lastgroup]
            # The actor is near the indicator; a bounded window keeps a wall of text linear.
            prefix = text[max(start, match.start() - _WINDOW):match.start()]
            rest = text[match.end():min(end, match.end() + _WINDOW)]
            blameful = (_actor(prefix, rest, indicator.phrase) == PERSON if indicator.ambiguous
                        else not _negated(prefix))
            if not blameful or any(a <= match.start() and match.end() <= b for a, b in exempt):
                continue
            issues.append(BlameIssue(sentence, indicator.phrase, indicator.suggestion,
                                     match.start(), match.end()))
    return tuple(issues)


@lru_cache(maxsize=16)
def configured_indicators(entries: tuple[BlameIndicatorEntry, ...]) -> tuple[Indicator, ...]:
    """The indicators LOOPGATE_BLAME_INDICATORS asks for (its parsed entries); none means the defaults.

    A phrase known to the defaults keeps its ambiguity; '~phrase' marks a new one ambiguous.
    """
    if not entries:
        return DEFAULT_INDICATORS
    known = {indicator.phrase: indicator.ambiguous for indicator in DEFAULT_INDICATORS}
    return tuple(Indicator(entry.phrase, entry.suggestion or GENERIC_SUGGESTION,
                           entry.marked_ambiguous or known.get(entry.phrase.lower(), False)) for entry in entries)


def parse_indicators(spec: str) -> tuple[Indicator, ...]:
    """The indicators of a LOOPGATE_BLAME_INDICATORS value; ValueError naming the bad entry."""
    return configured_indicators(parse_blame_indicators(spec))


def indicators_of(settings: Settings) -> tuple[Indicator, ...]:
    """The blame-lint indicators configured for this deployment."""
    return configured_indicators(settings.blame_indicator_entries)


@lru_cache(maxsize=16)
def _compile(indicators: tuple[Indicator, ...]) -> tuple[re.Pattern[str], dict[str, Indicator]]:
    # Longest phrase first, so "should have known" wins over "should have" at the same place.
    by_group, alternatives = {}, []
    for number, indicator in enumerate(sorted(indicators, key=lambda i: -len(i.phrase))):
        words = indicator.phrase.replace("’", "'").split()
        by_group[f"i{number}"] = indicator
        alternatives.append(f"(?P<i{number}>" + r"\s+".join(map(re.escape, words)) + ")")
    body = "|".join(alternatives).replace("'", "['’]") or "(?!)"  # no indicator: match nothing
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE), by_group


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _SENTENCE_END.finditer(text):
        words = text[max(start, match.start() - 20):match.start()].split()
        abbreviation = bool(words) and words[-1].lower().strip("(\"'.") in _ABBREVIATIONS
        if abbreviation or text[match.end():match.end() + 1].islower():
            continue
        yield from _trimmed(text, start, match.end())
        start = match.end()
    yield from _trimmed(text, start, len(text))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    marker = _MARKER.match(text, start, end)
    assert marker is not None  # the pattern matches the empty string
    start = marker.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _negated(prefix: str) -> bool:
    tokens = _TOKEN.findall(_CLAUSE.split(prefix)[-1])
    return any(t.lower() in _NEGATORS or t.lower().endswith(("n't", "n’t")) for t in tokens)


def _actor(prefix: str, rest: str, phrase: str) -> str | None:
    """Who did what the indicator says: the agent after it when there is one, else the subject."""
    after = _CLAUSE.split(rest)[0]
    before = [t.lower() for t in _TOKEN.findall(prefix) if not t.lower().endswith("ly")]
    passive = (bool(before) and before[-1] in _BE) or re.match(r"\s+been\b", rest) is not None
    agent = None
    if phrase.lower().endswith((" of", " by")):
        agent = after
    elif passive and (by := _BY_AGENT.match(after)):
        agent = by.group(1)
    if agent is not None and (kind := _noun_phrase_kind(_TOKEN.findall(agent), own_clause=False)[0]):
        return kind
    # Walk back over empty clauses: in "the engineer restarted it and forgot", the
    # subject of "forgot" is the first noun phrase of the clause before "and".
    parts = _CLAUSE.split(prefix)
    for i in range(len(parts) - 1, -1, -2):
        if i > 0 and parts[i - 1].lower() in ("who", "whom"):
            return PERSON  # "the engineer who wrote it forgot": "who" stands for a person
        kind, has_content = _noun_phrase_kind(_TOKEN.findall(parts[i]), own_clause=i == len(parts) - 1)
        if kind or has_content:
            return kind
    return None


def _noun_phrase_kind(tokens: list[str], own_clause: bool) -> tuple[str | None, bool]:
    """Person, thing or None for a clause's subject, and whether the clause had a content word."""
    if own_clause:  # a pronoun right before the verb is its subject: "in hindsight we should have"
        last = next((t.lower() for t in reversed(tokens)
                     if not _is_filler(t) or t.lower() in _THING_PRONOUNS), None)
        if last in _PERSON_PRONOUNS or last in _THING_PRONOUNS:
            return (PERSON if last in _PERSON_PRONOUNS else THING), True
    run: list[str] = []  # the first run of content words; its last noun is the head
    for token in tokens:
        low = token.lower()
        if low in _PERSON_PRONOUNS or low in ("it", "there"):
            if not run:
                return (PERSON if low in _PERSON_PRONOUNS else THING), True
            break
        if _is_filler(token):
            if run:
                break
        elif low.endswith(("'s", "’s", "'", "’")):
            run = []  # a possessor is not the subject: "Alice's deploy failed to"
        else:
            run.append(token)
    kinds = [kind for token in reversed(run) if (kind := _word_kind(token))]
    return (kinds[0] if kinds else None), any(not _is_filler(t) for t in tokens)


def _word_kind(token: str) -> str | None:
    low = token.lower()
    for form in (low, low.rsplit("-", 1)[-1]):  # "health-check" is a check
        for stem in (form, form.removesuffix("s"), form.removesuffix("es")):
            if stem in _PEOPLE or stem in _THINGS:
                return PERSON if stem in _PEOPLE else THING
    if token.isalpha() and token[0].isupper() and token[1:].islower() and not low.endswith(_NOT_NAME):
        return PERSON  # a capitalised word we do not know is most likely a first name
    return None


def _is_filler(token: str) -> bool:
    low = token.lower()
    return (low in _FILLER or token[0].isdigit() or low.endswith(("n't", "n’t"))
            or (low.endswith("ly") and len(low) > 4 and low not in _THINGS))
