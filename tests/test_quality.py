"""grid.core.quality: each flag fires on a text built to trip it, stays quiet on a good caption, and obeys its threshold."""

import pytest

from grid.core import quality
from grid.core.quality import Flag, QualityThresholds, find_flags, flags

GOOD = (
    "A red-brick lighthouse stands on a rocky point in Portland, Maine, photographed in the late afternoon of "
    "2025-08-14. Waves break against the rocks below and a few gulls circle the lamp room."
)
PROMPT = "Describe this image. Context: taken in Portland, Maine on 2025-08-14."
CONTEXT = {"location": "Portland, Maine", "date": "2025-08-14"}


def kinds(fs):
    return [Flag.parse(f).kind for f in fs]


def test_good_caption_has_no_flags():
    assert flags(GOOD, PROMPT, CONTEXT) == []


def test_empty_output_has_no_flags():
    assert flags("", PROMPT, CONTEXT) == [] and flags(None) == []


def test_verbose_uses_real_token_count_when_given_and_threshold():
    assert flags(GOOD, PROMPT, CONTEXT, generation_tokens=452) == ["verbose(452)"]
    assert flags(GOOD, PROMPT, CONTEXT, {"verbose_tokens": 500}, generation_tokens=452) == []
    long_text = GOOD + " Portland" + " more words here" * 120
    assert "verbose" in kinds(flags(long_text, PROMPT, CONTEXT))


def test_bullets_counted_and_threshold():
    text = "Portland, Maine scene:\n" + "\n".join(f"- item {i} near the Portland lighthouse" for i in range(22))
    assert "bullets(22)" in flags(text, PROMPT, CONTEXT)
    assert "bullets" not in kinds(flags(text, PROMPT, CONTEXT, {"max_bullets": 30}))
    numbered = "\n".join(f"{i}. point" for i in range(1, 17))
    assert quality.bullets(numbered, QualityThresholds()) == Flag("bullets", "16")


def test_formatting_headers_and_leaked_special_tokens():
    text = GOOD + "\n# Title\n## A\n## B\n### C\n"
    assert "formatting(headers=4)" in flags(text, PROMPT, CONTEXT)
    assert "formatting(special-tokens)" in flags(GOOD + "<|im_end|>", PROMPT, CONTEXT)
    assert flags(GOOD + "\n# Title\n## A\n", PROMPT, CONTEXT) == []


def test_context_ignored():
    assert "context-ignored" in flags("The image is a photograph.", PROMPT, CONTEXT)
    off = "A tall white tower stands on dark rocks near the sea while several birds fly around it in the evening light."
    assert "context-ignored" in flags(off, PROMPT, CONTEXT)
    assert "context-ignored" not in kinds(flags(off, PROMPT, None))  # no context given: nothing to ignore


def test_hallucinated_dialogue_turns_but_not_prompt_echo():
    text = GOOD + "\nUser: what about the history of television?\nAssistant: Television was invented..."
    assert "hallucination" in flags(text, PROMPT, CONTEXT)
    qa_prompt = "Question: what is shown? Context: Portland, Maine 2025-08-14"
    assert "hallucination" not in kinds(flags("Question: what is shown? " + GOOD, qa_prompt, CONTEXT))


def test_language_mixing_names_the_foreign_script():
    text = GOOD + " 这是一座灯塔，位于岩石上。"
    assert "language-mixing(Han)" in flags(text, PROMPT, CONTEXT)
    assert "language-mixing" not in kinds(flags(text, PROMPT, CONTEXT, {"language_min_chars": 50}))
    # A Japanese prompt answered in Japanese is not mixing.
    assert quality.language_mixing("これは灯台です。", "この画像を説明してください", None, QualityThresholds()) is None


def test_repetition_loops_and_repeated_lines():
    loop = GOOD + " " + "the lighthouse is tall " * 12
    assert "repetition(x12)" in flags(loop, PROMPT, CONTEXT) or "repetition" in kinds(flags(loop, PROMPT, CONTEXT))
    lines = GOOD + "\n" + "\n".join(["A gull."] * 4)
    assert "repetition(x4)" in flags(lines, PROMPT, CONTEXT)
    assert "repetition" not in kinds(flags(loop, PROMPT, CONTEXT, {"repetition_min_repeats": 50}))


def test_refusal_only_at_the_start():
    assert "refusal" in flags(
        "I'm sorry, but I can't help with identifying people in Portland, Maine.", PROMPT, CONTEXT
    )
    assert "refusal" in flags("I cannot describe this image.", PROMPT, None)
    later = GOOD * 4 + " A sign reads: I cannot swim."
    assert "refusal" not in kinds(flags(later, PROMPT, CONTEXT))


def test_unknown_threshold_is_rejected():
    with pytest.raises(ValueError, match="verbose_tokenz"):
        flags(GOOD, PROMPT, CONTEXT, {"verbose_tokenz": 3})


def test_flag_order_follows_kinds():
    text = "I'm sorry.\n" + "\n".join(f"- x{i}" for i in range(20)) + "\nUser: more?"
    got = kinds(flags(text, PROMPT, CONTEXT))
    assert got == sorted(got, key=quality.KINDS.index) and {"bullets", "hallucination", "refusal"} <= set(got)


def test_flags_are_values_stored_as_strings():
    text = GOOD + "\n# Title\n## A\n## B\n### C\n"
    found = find_flags(text, PROMPT, CONTEXT, generation_tokens=452)
    assert found == [Flag("verbose", "452"), Flag("formatting", "headers=4")]
    assert flags(text, PROMPT, CONTEXT, generation_tokens=452) == ["verbose(452)", "formatting(headers=4)"]
    assert found[0].count == 452 and found[1].count is None


@pytest.mark.parametrize(
    "text, flag",
    [
        ("verbose(452)", Flag("verbose", "452")),
        ("formatting(headers=6,special-tokens)", Flag("formatting", "headers=6,special-tokens")),
        ("language-mixing(Han+Kana)", Flag("language-mixing", "Han+Kana")),
        ("repetition(x12)", Flag("repetition", "x12")),
        ("context-ignored", Flag("context-ignored")),
    ],
)
def test_flag_parse_and_format_round_trip(text, flag):
    assert Flag.parse(text) == flag and flag.format() == text == str(flag)


def test_flag_parse_of_malformed_text_keeps_the_kind():
    assert Flag.parse("bullets(22") == Flag("bullets") and Flag.parse("odd)") == Flag("odd)")
