# Stand-in for the tokenization_plamo.py that PLaMo 2 checkpoints ship (trust_remote_code): the same
# Plamo2Tokenizer (Aho-Corasick Viterbi over tokenizer.jsonl, byte fallback) as the one mlx-vlm 0.7.10 copies into
# mlx_vlm/models/plamo2vl/processing.py, without importing mlx_vlm (so AutoTokenizer works in an mlx-free process),
# and without mlx-vlm's own from_pretrained shortcut (AutoTokenizer uses PreTrainedTokenizer's, as upstream).
import json
import math
import os
from pathlib import Path
from shutil import copyfile
from typing import Any, Optional, Tuple

import numpy as np
from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"vocab_file": "tokenizer.jsonl"}

INVALID_SCORE = -20000000
UNKNOWN_SCORE = -10000000

TABLE_PIECE_LENGTH = 0
TABLE_TOKEN_ID = 1
TABLE_SCORE = 2
TABLE_PIECE_ID = 3

PATH_TOKEN_LENGTH = 0
PATH_TOKEN_ID = 1
PATH_NUM_TOKENS = 2


class AhoCorasick:
    def __init__(self) -> None:
        self._tokens: list[str] = []
        self._bytes = np.zeros(256, dtype=np.int32)
        self._to_suffix_id: dict[int, int] = {}
        self._table = np.zeros((0, 4), dtype=np.int32)

    def build(self, vocab: list[Any]) -> None:
        self._bytes = np.zeros(256, dtype=np.int32)
        self._to_suffix_id = {}

        suffix_to_score: dict[str, float] = {}
        token_to_token_id: dict[str, int] = {}
        self._tokens = []
        for token_id, row in enumerate(vocab):
            token = str(row[0])
            self._tokens.append(token)
            token_to_token_id[token] = token_id

            if len(row) > 2 and row[2] == "BYTE":
                self._bytes[int(row[0][3:5], 16)] = token_id
                continue

            suffix_to_score[token] = float(row[1])
            for i in range(1, len(token)):
                suffix_to_score[token[i:]] = suffix_to_score.get(token[i:], math.nan)

        for i in range(256):
            if self._bytes[i] == 0:
                raise ValueError(f"Byte token for <0x{i:02X}> is not set.")

        suffixes = list(suffix_to_score.keys())
        suffixes.append("")
        suffixes.sort(key=lambda x: x[::-1])

        suffix_to_id: dict[str, int] = {}
        num_pieces = 0
        for suffix in suffixes:
            suffix_to_id[suffix] = num_pieces
            if suffix != "":
                piece_code = (ord(suffix[0]) << 32) | suffix_to_id[suffix[1:]]
                self._to_suffix_id[piece_code] = np.int32(num_pieces)
            num_pieces += 1 + sum(
                suffix[:i] in suffix_to_score for i in range(1, len(suffix) + 1)
            )

        self._table = np.zeros((num_pieces, 4), dtype=np.int32)
        row_idx = 0
        for suffix in suffixes:
            for piece_length in range(len(suffix), 0, -1):
                piece = suffix[:piece_length]
                score = suffix_to_score.get(piece, None)
                if score is None:
                    continue
                self._table[row_idx, TABLE_PIECE_LENGTH] = piece_length
                self._table[row_idx, TABLE_TOKEN_ID] = token_to_token_id.get(piece, -1)
                self._table[row_idx, TABLE_SCORE] = (
                    round(score * 1e4) if math.isfinite(score) else INVALID_SCORE
                )
                self._table[row_idx, TABLE_PIECE_ID] = suffix_to_id[piece]
                row_idx += 1

            self._table[row_idx, TABLE_PIECE_LENGTH] = 1
            self._table[row_idx, TABLE_TOKEN_ID] = -1
            self._table[row_idx, TABLE_SCORE] = UNKNOWN_SCORE
            row_idx += 1

    def encode(self, data: str) -> np.ndarray:
        data_points = np.frombuffer(data.encode("utf-32"), dtype=np.int32)[1:]
        scores = np.full((len(data_points) + 1,), 2**60, dtype=np.int64)
        scores[-1] = 0
        path = np.zeros((len(data_points) + 1, 3), dtype=np.int32)
        suffix_id = 0

        for i in range(len(data_points) - 1, -1, -1):
            c = int(data_points[i])
            for p in range(suffix_id, len(self._table)):
                piece_code = (c << 32) | int(self._table[p, TABLE_PIECE_ID])
                suffix_id = int(self._to_suffix_id.get(piece_code, 0))
                if suffix_id > 0 or self._table[p, TABLE_SCORE] == UNKNOWN_SCORE:
                    break

            for p in range(suffix_id, len(self._table)):
                score = int(self._table[p, TABLE_SCORE])
                if score > INVALID_SCORE:
                    piece_length = int(self._table[p, TABLE_PIECE_LENGTH])
                    s = scores[i + piece_length] - score
                    if s < scores[i]:
                        scores[i] = s
                        path[i, PATH_TOKEN_LENGTH] = piece_length
                        path[i, PATH_TOKEN_ID] = int(self._table[p, TABLE_TOKEN_ID])
                        path[i, PATH_NUM_TOKENS] = (
                            path[i + piece_length, PATH_NUM_TOKENS] + 1
                        )
                        if score == UNKNOWN_SCORE:
                            path[i, PATH_NUM_TOKENS] += (
                                (c >= 0x80) + (c >= 0x800) + (c >= 0x10000)
                            )

                if score == UNKNOWN_SCORE:
                    break

        pos = 0
        token_ids = np.zeros(path[0, PATH_NUM_TOKENS], dtype=np.int32)
        token_pos = 0
        while pos < len(data_points):
            if path[pos, PATH_TOKEN_ID] >= 0:
                token_ids[token_pos] = path[pos, PATH_TOKEN_ID]
                token_pos += 1
            else:
                c = int(data_points[pos])
                n_bytes = 1 + (c >= 0x80) + (c >= 0x800) + (c >= 0x10000)
                for i in range(n_bytes):
                    if n_bytes == 1:
                        byte = c
                    elif i == 0:
                        byte = (0xF00 >> n_bytes) & 0xFF
                    else:
                        byte = 0x80
                    byte |= (c >> ((n_bytes - i - 1) * 6)) & 0x3F
                    token_ids[token_pos] = self._bytes[byte]
                    token_pos += 1

            if path[pos, PATH_TOKEN_LENGTH] <= 0:
                raise ValueError(f"Invalid token path at position {pos}")
            pos += path[pos, PATH_TOKEN_LENGTH]

        return token_ids

    def encode_as_tokens(self, data: str) -> list[str]:
        return [self._tokens[token_id] for token_id in self.encode(data)]


class Plamo2Tokenizer(PreTrainedTokenizer):  # type: ignore[misc]
    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str,
        unk_token: str = "<|plamo:unk|>",
        bos_token: str = "<|plamo:bos|>",
        eos_token: str = "<|plamo:bos|>",
        pad_token: str = "<|plamo:pad|>",
        cls_token: Optional[str] = None,
        sep_token: Optional[str] = None,
        mask_token: Optional[str] = None,
        clean_up_tokenization_spaces: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("add_bos_token", False)
        kwargs.setdefault("add_eos_token", False)
        with open(vocab_file, "r", encoding="utf-8") as f:
            self.data = [json.loads(line) for line in f]
        self.vocab = {v[0]: i for i, v in enumerate(self.data)}
        self.aho_corasick = AhoCorasick()
        self.aho_corasick.build(self.data)
        self.vocab_file = vocab_file
        self.add_bos_token = kwargs["add_bos_token"]
        self.add_eos_token = kwargs["add_eos_token"]

        super().__init__(
            vocab_file=vocab_file,
            unk_token=unk_token,
            bos_token=bos_token,
            eos_token=eos_token,
            pad_token=pad_token,
            cls_token=cls_token,
            sep_token=sep_token,
            mask_token=mask_token,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["aho_corasick"] = None
        return state

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__ = d
        self.aho_corasick = AhoCorasick()
        self.aho_corasick.build(self.data)

    @property
    def vocab_size(self):
        return len(self.data)

    def get_vocab(self):
        vocab = self.vocab.copy()
        vocab.update(self.added_tokens_encoder)
        return vocab

    def convert_tokens_to_string(self, tokens):
        return b"".join(
            [
                bytes([int(t[3:5], 16)]) if t.startswith("<0x") else t.encode("utf-8")
                for t in tokens
            ]
        ).decode("utf-8", errors="replace")

    def _tokenize(self, text: str):
        return self.aho_corasick.encode_as_tokens(text)

    def _convert_token_to_id(self, token: str):
        return self.vocab.get(token, 0)

    def _convert_id_to_token(self, index: int):
        return self.data[index][0]

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        bos_token_id = [self.bos_token_id] if self.add_bos_token else []
        eos_token_id = [self.eos_token_id] if self.add_eos_token else []
        output = bos_token_id + token_ids_0 + eos_token_id
        if token_ids_1 is not None:
            output = output + bos_token_id + token_ids_1 + eos_token_id
        return output

    def save_vocabulary(
        self, save_directory: str, filename_prefix: Optional[str] = None
    ) -> Tuple[str]:
        if not os.path.isdir(save_directory):
            return ("",)

        out_vocab_file = os.path.join(
            save_directory,
            (filename_prefix + "-" if filename_prefix else "")
            + VOCAB_FILES_NAMES["vocab_file"],
        )
        if os.path.abspath(self.vocab_file) != os.path.abspath(
            out_vocab_file
        ) and os.path.isfile(self.vocab_file):
            copyfile(self.vocab_file, out_vocab_file)
        elif not os.path.isfile(self.vocab_file):
            with open(out_vocab_file, "w", encoding="utf-8") as f:
                for token in self.data:
                    print(json.dumps(token, ensure_ascii=False), file=f)
        return (out_vocab_file,)

    def save_pretrained(
        self,
        save_directory: str | Path,
        legacy_format: Optional[bool] = None,
        filename_prefix: Optional[str] = None,
        **kwargs: Any,
    ):
        self.init_kwargs["add_bos_token"] = self.add_bos_token
        self.init_kwargs["add_eos_token"] = self.add_eos_token
        files = super().save_pretrained(
            str(save_directory),
            legacy_format=legacy_format,
            filename_prefix=filename_prefix,
            **kwargs,
        )

        tokenizer_config_name = (
            f"{filename_prefix}-tokenizer_config.json"
            if filename_prefix
            else "tokenizer_config.json"
        )
        tokenizer_config_path = Path(save_directory) / tokenizer_config_name
        if tokenizer_config_path.exists():
            with open(tokenizer_config_path, "r", encoding="utf-8") as f:
                tokenizer_config = json.load(f)
            tokenizer_config["add_bos_token"] = self.add_bos_token
            tokenizer_config["add_eos_token"] = self.add_eos_token
            with open(tokenizer_config_path, "w", encoding="utf-8") as f:
                json.dump(tokenizer_config, f, ensure_ascii=False, indent=2)
                f.write("\n")

        return files

