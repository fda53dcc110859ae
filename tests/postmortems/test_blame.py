import re

import pytest

from app.postmortems.blame import (
    DEFAULT_INDICATORS,
    GENERIC_SUGGESTION,
    BlameIssue,
    Indicator,
    lint_blame,
    parse_indicators,
)
from tests.support.blame_corpus import BLAMEFUL, CORPUS, NEUTRAL


def _normalised(words: str) -> str:
    return " ".join(words.replace("’", "'").lower().split())


def _flagged(text: str) -> list[str]:
    return [issue.indicator for issue in lint_blame(text)]


# --- the corpus -------------------------------------------------------------------------------


def test_corpus_is_big_enough_and_balanced():
    assert len(CORPUS) >= 50
    assert len(BLAMEFUL) >= 20 and len(NEUTRAL) >= 20
    assert len({sentence for sentence, _ in CORPUS}) == len(CORPUS)


def test_corpus_has_system_subjects_with_indicator_verbs():
    system_verbs = re.compile(r"\b(failed to|ignored|should (not )?have|forgot|neglected|"
                              r"overlooked|did not check|didn't follow)\b", re.IGNORECASE)
    assert sum(1 for sentence in NEUTRAL if system_verbs.search(sentence)) >= 10


def test_precision_and_recall_over_the_corpus():
    tp = fp = fn = tn = 0
    for sentence, blameful in CORPUS:
        flagged = bool(lint_blame(sentence))
        tp += flagged and blameful
        fp += flagged and not blameful
        fn += blameful and not flagged
        tn += not blameful and not flagged
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, (precision, tp, fp)
    assert recall >= 0.9, (recall, tp, fn)


# --- people against systems -----------------------------------------------------------------------


@pytest.mark.parametrize("sentence", [
    "The health check failed to detect the outage.",
    "The deploy pipeline ignored the failing canary.",
    "The alert should have fired at 80% disk usage.",
    "Kafka failed to rebalance the partitions.",
    "The cron job, which runs hourly, failed to start.",
    "Alice's deploy failed to roll back.",
    "The check we added last week failed to fire.",
    "The deploy should have been blocked by the integration tests.",
    "There should have been a second approval.",
    "When we deployed it failed to start.",
])
def test_a_system_failing_is_not_blame(sentence):
    assert lint_blame(sentence) == []


@pytest.mark.parametrize("sentence", [
    "The on-call engineer failed to acknowledge the page.",
    "He forgot to renew the certificate.",
    "In hindsight we should have load-tested it.",
    "Priya ignored the disk warnings.",
    "The SREs didn't follow the runbook.",
    "Someone should've paged the database team.",
    "The alert was ignored by the on-call engineer.",
    "It was the fault of the new hire.",
    "The engineer restarted the cache and then forgot to warm it.",
    "The engineer who wrote the script forgot the index.",
    "The responder, who was tired, overlooked the error panel.",
    "The person on call failed to escalate.",
])
def test_a_person_failing_is_blame(sentence):
    assert len(lint_blame(sentence)) == 1


@pytest.mark.parametrize("sentence", [
    "The cache layer was careless about eviction.",  # unambiguous: flags whatever the subject
    "This was human error.",
    "Blame for the outage fell on the night shift.",
    "Honestly, somebody dropped the ball.",
])
def test_unambiguous_indicators_always_flag(sentence):
    assert len(lint_blame(sentence)) == 1


@pytest.mark.parametrize("sentence", [
    "It was not human error: the console allowed the command.",
    "Nobody is to blame for this.",
    "We never assign blame to individuals.",
    "The change wasn't careless; the diff looked routine.",
])
def test_a_negation_in_the_clause_turns_an_unambiguous_indicator_off(sentence):
    assert lint_blame(sentence) == []


def test_technical_terms_that_contain_an_indicator_are_left_alone():
    assert lint_blame("A git blame showed the line. Lazy loading delayed the first request.") == []
    assert _flagged("The on-call was lazy.") == ["lazy"]


# --- matching ----------------------------------------------------------------------------------


def test_offsets_point_at_the_indicator_in_the_original_text():
    text = "Timeline.\n\n  At 14:02 the Engineer   FAILED  TO page. Then Bob shouldn’t have retried!"
    issues = lint_blame(text)
    assert [issue.indicator for issue in issues] == ["failed to", "shouldn't have"]
    for issue in issues:
        assert _normalised(text[issue.start:issue.end]) == _normalised(issue.indicator)
    assert text[issues[0].start:issues[0].end] == "FAILED  TO"
    assert text[issues[1].start:issues[1].end] == "shouldn’t have"


def test_matching_is_case_insensitive():
    for text in ("HE FORGOT TO PAGE.", "he Forgot to page.", "He forgot to page."):
        assert _flagged(text) == ["forgot"]
    assert _flagged("CARELESS change.") == ["careless"]


def test_matches_are_on_word_boundaries_without_stemming():
    only_forgot = [Indicator("forgot", "x", ambiguous=True), Indicator("blame", "y")]
    # "forgotten" is not "forgot", and "blameless"/"blamelessly"/"blame-free" are not "blame".
    assert lint_blame("He had forgotten to page.", only_forgot) == []
    assert lint_blame("We run blameless reviews, blamelessly, in a blame-free way.", only_forgot) == []
    assert lint_blame("Unblameable, blames, blamed.", only_forgot) == []
    assert [i.indicator for i in lint_blame("Do not blame. They blame the on-call.", only_forgot)] == ["blame"]
    # The defaults list "forgotten" on its own: as a verb of a person it flags,
    # as an adjective ("the forgotten flag") it has no subject and does not.
    assert _flagged("Alice had forgotten to rotate the key.") == ["forgotten"]
    assert _flagged("The forgotten feature flag stayed on.") == []


def test_the_longest_indicator_wins_where_two_overlap():
    assert _flagged("It should have been obvious.") == ["should have been obvious"]
    assert _flagged("We should have known.") == ["should have known"]


def test_each_issue_carries_its_own_sentence_in_order():
    text = ("At 09:14 the primary ran out of connections. The on-call engineer failed to "
            "notice (e.g. the graph was flat).\n\n- The health check failed to detect it\n"
            "- Bob forgot to page the DBA\n## Lessons\nThe team was careless!")
    issues = lint_blame(text)
    assert [(i.indicator, i.sentence) for i in issues] == [
        ("failed to", "The on-call engineer failed to notice (e.g. the graph was flat)."),
        ("forgot", "Bob forgot to page the DBA"),
        ("careless", "The team was careless!"),
    ]
    assert [i.start for i in issues] == sorted(i.start for i in issues)
    for issue in issues:
        assert issue.sentence in text


def test_a_wrapped_line_stays_in_its_sentence():
    text = "After the page, the on-call engineer\nfailed to open the runbook."
    [issue] = lint_blame(text)
    assert issue.sentence == text


def test_issues_are_plain_data():
    [issue] = lint_blame("He was careless.")
    assert issue == BlameIssue("He was careless.", "careless", issue.suggestion, 7, 15)
    assert issue.suggestion


def test_empty_text_and_empty_indicator_list():
    assert lint_blame("") == []
    assert lint_blame("He was careless.", []) == []


# --- the configurable list -----------------------------------------------------------------------


def test_every_default_indicator_has_a_suggestion_and_a_unique_phrase():
    phrases = [indicator.phrase for indicator in DEFAULT_INDICATORS]
    assert len(phrases) == len(set(phrases))
    assert all(indicator.suggestion for indicator in DEFAULT_INDICATORS)
    assert Indicator("should have", "x") == Indicator("should have", "x", ambiguous=False)


@pytest.mark.parametrize("spec", ["", "   ", "\n"])
def test_a_blank_spec_means_the_defaults(spec):
    assert parse_indicators(spec) is DEFAULT_INDICATORS


def test_parse_indicators_reads_phrases_and_suggestions():
    indicators = parse_indicators(" cowboy = Describe the missing guardrail ;yolo; ~took down=Say what broke;")
    assert indicators == (
        Indicator("cowboy", "Describe the missing guardrail"),
        Indicator("yolo", GENERIC_SUGGESTION),
        Indicator("took down", "Say what broke", ambiguous=True),
    )
    text = "A cowboy deploy. Bob took down prod. The bad config took down prod."
    assert [(i.indicator, text[i.start:i.end]) for i in lint_blame(text, indicators)] == [
        ("cowboy", "cowboy"), ("took down", "took down")]


def test_a_configured_default_phrase_keeps_its_subject_check():
    [failed_to] = parse_indicators("failed to=Say which safeguard was missing")
    assert failed_to.ambiguous
    assert lint_blame("The health check failed to fire.", [failed_to]) == []
    assert len(lint_blame("The engineer failed to look.", [failed_to])) == 1


@pytest.mark.parametrize("spec, message", [
    ("=a suggestion", "empty phrase"),
    ("careless;  = x", "entry 2"),
    ("~", "empty phrase"),
    ("careless=", "empty suggestion"),
    ("careless;Careless=x", "repeats"),
    (";;", "no phrase"),
])
def test_a_malformed_spec_is_refused_clearly(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_indicators(spec)


def test_an_indicator_needs_a_word():
    with pytest.raises(ValueError):
        Indicator("  ", "x")
