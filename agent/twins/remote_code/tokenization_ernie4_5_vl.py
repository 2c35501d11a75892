# Minimal stand-in for the SentencePiece tokenizer code that baidu/ERNIE-4.5-VL-*-PT checkpoints ship
# (trust_remote_code, for AutoTokenizer): mlx-vlm does not use it (its processor brings its own copy).
import os

import sentencepiece as spm
from transformers import PreTrainedTokenizer


class Ernie4_5_VLTokenizer(PreTrainedTokenizer):
    vocab_files_names = {"vocab_file": "tokenizer.model"}
    model_input_names = ["input_ids", "position_ids", "attention_mask", "labels"]
    padding_side = "right"

    def __init__(self, vocab_file, bos_token="<s>", cls_token="<|begin_of_sentence|>", eos_token="</s>",
                 mask_token="<mask:1>", pad_token="<unk>", sep_token="<|end_of_sentence|>", unk_token="<unk>",
                 additional_special_tokens=None, **kwargs):
        self.vocab_file = vocab_file
        self.sp_model = spm.SentencePieceProcessor()
        self.sp_model.Load(vocab_file)
        super().__init__(bos_token=bos_token, cls_token=cls_token, eos_token=eos_token, mask_token=mask_token,
                         pad_token=pad_token, sep_token=sep_token, unk_token=unk_token,
                         additional_special_tokens=additional_special_tokens or ["<mask:1>", "<mask:7>"], **kwargs)

    @property
    def vocab_size(self):
        return self.sp_model.vocab_size()

    def get_vocab(self):
        vocab = {self.sp_model.id_to_piece(i): i for i in range(self.vocab_size)}
        vocab.update(self.added_tokens_encoder)
        return vocab

    def _tokenize(self, text):
        return self.sp_model.encode_as_pieces(text)

    def _convert_token_to_id(self, token):
        return self.sp_model.piece_to_id(token)

    def _convert_id_to_token(self, index):
        return self.sp_model.id_to_piece(index)

    def convert_tokens_to_string(self, tokens):
        out, pending = "", []
        for token in tokens:
            if token in self.all_special_tokens:
                out += self.sp_model.decode(pending) + token
                pending = []
            else:
                pending.append(token)
        return out + self.sp_model.decode(pending)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        name = (filename_prefix + "-" if filename_prefix else "") + "tokenizer.model"
        path = os.path.join(save_directory, name)
        if os.path.abspath(self.vocab_file) != os.path.abspath(path):
            with open(path, "wb") as f:
                f.write(self.sp_model.serialized_model_proto())
        return (path,)
