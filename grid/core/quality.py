"""Quality flags on a model's output text: pure functions, thresholds configurable.

The agent calls `flags(output_text, prompt_text, context)` to fill `ResultRow.quality_flags`; the aggregator may call it
again with the user's thresholds. A flag is a value, `Flag(kind, figure)`: a kind, optionally with the measured figure.
Rows store its string form, `verbose(452)`, `bullets(22)`, `formatting(headers=6)`, `context-ignored`,
`hallucination`, `language-mixing(Han)`, `repetition(x12)`, `refusal`; `Flag.parse` and `Flag.format` are the only
code that reads or writes that form (`Flag.parse("bullets(22)") == Flag("bullets", "22")`).

These are heuristics over text alone (the seed report's flags were judged by a person): each check is small, documented
and has its threshold in `QualityThresholds`, so a false positive is fixed by a threshold, not by code. Nothing here
imports mlx; it runs in the agent's parent process and in the aggregator.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Flags of how the model was run, not of its text: set by the runner, kept for random-weight twins too (their text
# flags are noise), never recomputed from the output. image-dropped: the processor's output held no image data (the
# model ran text-only); load-fallback(no F): the model folder lacked F and the load fell back to defaults.
IMAGE_DROPPED = "image-dropped"
PIPELINE_KINDS = (IMAGE_DROPPED, "load-fallback")
PIPELINE_SQL = "list_filter(quality_flags, lambda f: split_part(f, '(', 1) IN " + repr(PIPELINE_KINDS) + ")"

KINDS = (
    "verbose",
    "bullets",
    "formatting",
    "context-ignored",
    "hallucination",
    "language-mixing",
    "repetition",
    "refusal",
)


@dataclass(frozen=True)
class QualityThresholds:
    verbose_tokens: int = 300  # seed: 302, 452 and 500 generated tokens were "verbose"
    max_bullets: int = 15  # seed: 18-26 bullet lines were "excessive"
    max_headers: int = 3  # markdown headers in a caption
    context_min_terms: int = 1  # of the context's distinctive terms, at least this many must appear in the output
    context_min_output_words: int = 12  # a shorter answer to a prompt with context counts as ignoring it
    language_min_chars: int = 4  # letters of a script absent from prompt and context before "language-mixing"
    language_min_fraction: float = 0.02  # ... and their share of all letters
    repetition_ngram: int = 4  # word n-gram length used to find loops
    repetition_min_repeats: int = 4  # one n-gram this many times ...
    repetition_min_coverage: float = 0.3  # ... covering this share of the words
    repetition_max_same_lines: int = 3  # identical non-empty lines in a row


# Fabricated dialogue turns or prompt-template echoes: a model that writes the next "User:" turn, or a caption about
# something the prompt never mentioned, is continuing a conversation it made up.
HALLUCINATION_MARKERS = (
    r"(?m)^\s*(?:user|human|question|q)\s*:",
    r"<\|?(?:user|im_start)\|?>",
    r"(?m)^\s*###\s*(?:instruction|human)\b",
)
REFUSAL_PATTERNS = (
    r"\bI(?:'m| am) (?:sorry|unable|not able)\b",
    r"\bI (?:can(?:'|no)t|cannot|won't) (?:help|assist|provide|describe|see|view|identify|comply)",
    r"\bas an AI\b",
    r"\bI do not have the ability to (?:see|view)",
)
# Leaked special tokens are a formatting defect: the chat template or the tokenizer's decoding is wrong.
SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z_][\w-]{0,30}\|>|</?s>|<end_of_turn>|<start_of_turn>|<image>|\[/?INST\]")
_BULLET = re.compile(r"(?m)^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+\S")
_HEADER = re.compile(r"(?m)^\s{0,3}#{1,6}\s+\S")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_STOPWORDS = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the this to was were
with image photo picture taken shows describe description caption context date location time""".split()
)


def make_thresholds(thresholds: QualityThresholds | Mapping | None) -> QualityThresholds:
    """Accept a QualityThresholds, a dict of overrides (unknown keys rejected, so typos are loud) or None."""
    if thresholds is None:
        return QualityThresholds()
    if isinstance(thresholds, QualityThresholds):
        return thresholds
    known = {f.name for f in dataclasses.fields(QualityThresholds)}
    unknown = sorted(set(thresholds) - known)
    if unknown:
        raise ValueError(f"unknown quality threshold(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(QualityThresholds(), **dict(thresholds))


@dataclass(frozen=True)
class Flag:
    """One quality flag: its kind (one of KINDS) and the figure that tripped it, if the check measures one."""

    kind: str
    figure: str | None = None  # "452" in verbose(452), "headers=6" in formatting(headers=6), "Han", "x12"

    @classmethod
    def parse(cls, text: str) -> Flag:
        """The stored string form back to a Flag: `kind(figure)` or a bare `kind`."""
        kind = text.split("(", 1)[0]
        figure = text[len(kind) + 1 : -1] if text.endswith(")") and "(" in text else None
        return cls(kind, figure)

    def format(self) -> str:
        """The string form rows store."""
        return self.kind if self.figure is None else f"{self.kind}({self.figure})"

    def __str__(self) -> str:
        return self.format()

    @property
    def count(self) -> int | None:
        """The figure as a number when it is a plain count (verbose(452), bullets(22)); else None."""
        return int(self.figure) if self.figure is not None and self.figure.isdigit() else None


def estimate_tokens(text: str) -> int:
    # ~4 characters a token for English BPE vocabularies; only used when the real count is not passed in.
    return (len(text) + 3) // 4


def verbose(text: str, t: QualityThresholds, generation_tokens: int | None = None) -> Flag | None:
    n = generation_tokens if generation_tokens is not None else estimate_tokens(text)
    return Flag("verbose", str(n)) if n > t.verbose_tokens else None


def bullets(text: str, t: QualityThresholds) -> Flag | None:
    n = len(_BULLET.findall(text))
    return Flag("bullets", str(n)) if n > t.max_bullets else None


def formatting(text: str, t: QualityThresholds) -> Flag | None:
    headers = len(_HEADER.findall(text))
    leaked = SPECIAL_TOKEN.findall(text)
    parts = ([f"headers={headers}"] if headers > t.max_headers else []) + (["special-tokens"] if leaked else [])
    return Flag("formatting", ",".join(parts)) if parts else None


def _context_terms(context: str | Mapping | Iterable[str] | None) -> set[str]:
    if context is None:
        return set()
    if isinstance(context, Mapping):
        text = " ".join(str(v) for v in context.values() if v is not None)
    elif isinstance(context, str):
        text = context
    else:
        text = " ".join(str(v) for v in context)
    return {w.lower() for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in _STOPWORDS}


def context_ignored(text: str, context, t: QualityThresholds) -> Flag | None:
    terms = _context_terms(context)
    if not terms:
        return None  # nothing was given, nothing can be ignored
    words = _WORD.findall(text)
    used = terms & {w.lower() for w in words}
    if len(used) < min(t.context_min_terms, len(terms)) or len(words) < t.context_min_output_words:
        return Flag("context-ignored")
    return None


def hallucination(text: str, prompt_text: str | None) -> Flag | None:
    for pattern in HALLUCINATION_MARKERS:
        match = re.search(pattern, text, flags=re.IGNORECASE)
        # A marker the prompt itself contains (e.g. a Q/A prompt) is an echo of the template, not an invention.
        if match and not (prompt_text and match.group(0).strip().lower() in prompt_text.lower()):
            return Flag("hallucination")
    return None


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first == "CJK" or first in ("HIRAGANA", "KATAKANA"):
        return "Han" if first == "CJK" else "Kana"
    return first.title() if first else None


def scripts(text: str) -> Counter:
    return Counter(s for s in map(_script, text) if s)


def language_mixing(text: str, prompt_text: str | None, context, t: QualityThresholds) -> Flag | None:
    out = scripts(text)
    total = sum(out.values())
    if not total:
        return None
    expected = set(scripts((prompt_text or "") + " " + " ".join(sorted(_context_terms(context)))))
    if not expected:
        expected = {out.most_common(1)[0][0]}  # no prompt: the output's own main script is the expected one
    foreign = {s: n for s, n in out.items() if s not in expected}
    n = sum(foreign.values())
    if n >= t.language_min_chars and n / total >= t.language_min_fraction:
        return Flag("language-mixing", "+".join(sorted(foreign, key=foreign.get, reverse=True)))
    return None


def repetition(text: str, t: QualityThresholds) -> Flag | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    run = best = 1
    for a, b in zip(lines, lines[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    if len(lines) > 1 and best >= t.repetition_max_same_lines:
        return Flag("repetition", f"x{best}")
    words = [w.lower() for w in text.split()]
    n = t.repetition_ngram
    if len(words) < n * t.repetition_min_repeats:
        return None
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    if count >= t.repetition_min_repeats and count * n / len(words) >= t.repetition_min_coverage:
        return Flag("repetition", f"x{count}")
    return None


def refusal(text: str) -> Flag | None:
    head = text[:400]  # a refusal opens the answer; a long caption quoting "I can't" later is not one
    return Flag("refusal") if any(re.search(p, head, flags=re.IGNORECASE) for p in REFUSAL_PATTERNS) else None


def find_flags(
    output_text: str | None,
    prompt_text: str | None = None,
    context=None,
    thresholds: QualityThresholds | Mapping | None = None,
    *,
    generation_tokens: int | None = None,
) -> list[Flag]:
    """All quality flags of one output, in KINDS order. `context` is the extra context the prompt gave the model
    (a string, a dict of fields such as location/date, or a list of terms); None when the prompt had none."""
    if not output_text:
        return []
    t = make_thresholds(thresholds)
    found = [
        verbose(output_text, t, generation_tokens),
        bullets(output_text, t),
        formatting(output_text, t),
        context_ignored(output_text, context, t),
        hallucination(output_text, prompt_text),
        language_mixing(output_text, prompt_text, context, t),
        repetition(output_text, t),
        refusal(output_text),
    ]
    return [f for f in found if f]


def flags(
    output_text: str | None,
    prompt_text: str | None = None,
    context=None,
    thresholds: QualityThresholds | Mapping | None = None,
    *,
    generation_tokens: int | None = None,
) -> list[str]:
    """`find_flags` in the string form `ResultRow.quality_flags` stores."""
    found = find_flags(output_text, prompt_text, context, thresholds, generation_tokens=generation_tokens)
    return [f.format() for f in found]
