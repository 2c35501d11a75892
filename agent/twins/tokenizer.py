"""A tiny byte-level BPE tokenizer for twins, trained offline in milliseconds and padded to the config's vocab size.

Why padded: a random-weight model samples any id below vocab_size; an id the tokenizer does not know crashes
mlx_vlm's streaming detokenizer (IndexError). Padding goes into the BPE model's vocab as unreachable byte-level
strings (not as added tokens), so even a 150k-vocab real-size twin stays a plain, fast tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# A few sentences so the BPE learns some merges; twins only need a tokenizer that round-trips any text.
CORPUS = [
    "Describe this image.",
    "What is in the picture? A chart, a photo, some text.",
    "The quick brown fox jumps over the lazy dog.",
    "Taken in Paris, 2024-06-01. The Eiffel tower stands in the background.",
    "user assistant system: answer briefly and precisely.",
    "0123456789 , . ; : ! ? ( ) [ ] { } < > / \\ - _ = + * & % $ # @",
]


@dataclass(frozen=True)
class TokenizerSpec:
    """What a twin's tokenizer must contain.

    `specials` get ids 0..len(specials)-1 in order, so a family module knows every special id before the tokenizer
    exists (config.json needs image_token_id, eos_token_id, ...).
    """

    vocab_size: int
    specials: tuple[str, ...]
    bos: str | None = None
    eos: str | None = None
    pad: str | None = None
    unk: str | None = None
    # transformers 5 turns these into tokenizer.<name> and tokenizer.<name>_id (e.g. image_token -> image_token_id)
    extra_special_tokens: dict[str, str] = field(default_factory=dict)
    # extra keys merged into tokenizer_config.json (e.g. model_max_length, add_bos_token)
    config_extra: dict = field(default_factory=dict)

    def id(self, token: str) -> int:
        return self.specials.index(token)


def _byte_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def _padding_tokens(count: int, taken: set[str]) -> list[str]:
    """Deterministic unreachable byte-level strings; they decode to arbitrary bytes like any real token."""
    alphabet = _byte_alphabet()
    base = len(alphabet)
    out: list[str] = []
    i = 0
    while len(out) < count:
        n, digits = i, []
        while True:
            digits.append(alphabet[n % base])
            n //= base
            if n == 0:
                break
        # The double-space prefix never occurs in CORPUS, so BPE merges can never produce these strings.
        token = "ĠĠ" + "".join(digits)
        i += 1
        if token not in taken:
            out.append(token)
            taken.add(token)
    return out


def build_tokenizer(spec: TokenizerSpec):
    """Return a transformers PreTrainedTokenizerFast with exactly spec.vocab_size ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    n_base = len(spec.specials) + 256
    if spec.vocab_size < n_base:
        raise ValueError(f"vocab_size {spec.vocab_size} < {n_base} (specials + byte alphabet)")
    tok = Tokenizer(models.BPE(unk_token=spec.unk))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=min(spec.vocab_size, n_base + 120),
        special_tokens=list(spec.specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)

    # Re-create the BPE model with the padded vocab (same merges), keeping the special added tokens.
    state = json.loads(tok.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    missing = spec.vocab_size - len(vocab)
    for token in _padding_tokens(missing, set(vocab)):
        vocab[token] = len(vocab)
    tok = Tokenizer.from_str(json.dumps(state))
    assert tok.get_vocab_size() == spec.vocab_size, (tok.get_vocab_size(), spec.vocab_size)

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=spec.bos,
        eos_token=spec.eos,
        pad_token=spec.pad,
        unk_token=spec.unk,
    )


def write_tokenizer(spec: TokenizerSpec, folder: Path) -> None:
    """tokenizer.json + tokenizer_config.json (with extra_special_tokens patched in)."""
    tokenizer = build_tokenizer(spec)
    tokenizer.save_pretrained(str(folder))
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"  # never a slow/model class: v5 would rebuild the vocab
    if spec.extra_special_tokens:
        cfg["extra_special_tokens"] = dict(spec.extra_special_tokens)
    cfg.update(spec.config_extra)
    cfg_path.write_text(json.dumps(cfg, indent=2))
    for stray in ("special_tokens_map.json", "chat_template.jinja"):
        (folder / stray).unlink(missing_ok=True)


def sentencepiece_model(controls: tuple[str, ...], user_defined: tuple[str, ...], vocab_size: int) -> bytes:
    """A serialized SentencePiece unigram model (tokenizer.model) of exactly `vocab_size` pieces, built directly.

    For twins whose processor loads a SentencePiece tokenizer itself (no tokenizer.json). Ids: 0 `<unk>`, then
    `controls` (e.g. `<s>`, `</s>`), then `user_defined` (always matched whole in raw text, like real special
    tokens), then the 256 byte-fallback pieces (so any text round-trips), then CORPUS words and characters and
    unreachable-enough filler pieces up to `vocab_size`.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    trainer = model.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = vocab_size
    trainer.byte_fallback = True
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = 0, 1, 2, -1
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = True
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = True
    kinds = pb.ModelProto.SentencePiece
    seen: set[str] = set()

    def add(piece: str, kind: int, score: float = 0.0) -> None:
        entry = model.pieces.add()
        entry.piece, entry.type, entry.score = piece, kind, score
        seen.add(piece)

    add("<unk>", kinds.UNKNOWN)
    for piece in controls:
        add(piece, kinds.CONTROL)
    for piece in user_defined:
        add(piece, kinds.USER_DEFINED)
    for byte in range(256):
        add(f"<0x{byte:02X}>", kinds.BYTE)
    words = ["\u2581" + w for line in CORPUS for w in line.split()]
    chars = sorted({c for line in CORPUS for c in line.replace(" ", "\u2581")})
    candidates = iter(words + chars)
    filler = 0
    while len(model.pieces) < vocab_size:
        piece = next(candidates, None)
        if piece is None:  # CJK characters the corpus never has: reachable only from text that contains them
            piece, filler = "\u2581" + chr(0x4E00 + filler), filler + 1
        if piece not in seen:
            add(piece, kinds.NORMAL, -1.0 if len(piece) > 1 else -5.0)
    return model.SerializeToString()
