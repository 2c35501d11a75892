"""Writing a twin folder: the files of one twin, the chat template, the config lint, and the atomic cache build."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.twins.tokenizer import TokenizerSpec, write_tokenizer


@dataclass
class TwinFiles:
    """Everything a family module decides about one twin; `write_twin_files` turns it into a folder."""

    config: dict
    tokenizer: TokenizerSpec
    preprocessor_config: dict | None = None
    processor_config: dict | None = None
    chat_template: str | None = None
    # name -> text (remote code .py, generation_config.json, ...) or bytes (a SentencePiece tokenizer.model)
    extra_files: dict[str, str | bytes] = field(default_factory=dict)
    # files the tokenizer writer made that the real checkpoint does not have, removed after extra_files are written
    # (ernie4_5_moe_vl: SentencePiece only; plamo2vl: a tokenizer.json would change mlx-vlm's streaming detokenizer)
    drop_files: tuple[str, ...] = ()
    # adapter.save_random_weights options
    tie_embeddings: bool = False
    # weight dtype; float16 where the real checkpoints are float16 and mlx-vlm code relies on it
    dtype: str = "bfloat16"
    # weight key suffixes stored in float32 whatever `dtype` is: where mlx-vlm's sanitize promotes them at load (so
    # an mlx-converted checkpoint stores them so, and the twin's weights round-trip bit-exact): deepseek_v41
    float32_weights: tuple[str, ...] = ()
    # weight keys to drop after the random init (broken twins: the "missing lm_head" case)
    drop_weights: tuple[str, ...] = ()
    # the config resolves through shipped remote code (auto_map), as for the real checkpoints
    trust_remote_code: bool = False
    # False where transformers has no config class for the model_type and mlx-vlm never asks it for one
    # (granite_vision); every other config is linted
    lint_config: bool = True


def chat_template(
    image: str, *, bos: str = "", start: str = "<|im_start|>", end: str = "<|im_end|>\n", role_end: str = "\n"
) -> str:
    """A ChatML-like template that accepts string content and list content ([{"type":"image"}, {"type":"text"}]).

    mlx_vlm.prompt_utils produces one or the other depending on MODEL_CONFIG[model_type]; `image` is the text an
    image item renders to (the processor then expands it to the right number of image tokens). Each turn renders
    as start + role + role_end + content + end.
    """
    return (
        bos
        + "{% for message in messages %}"
        + start
        + "{{ message['role'] }}"
        + role_end
        + "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for item in message['content'] %}"
        "{% if item['type'] == 'image' or item['type'] == 'image_url' %}" + image + "{% endif %}"
        "{% if item['type'] == 'text' %}{{ item['text'] if item['text'] is defined else item['content'] }}{% endif %}"
        "{% endfor %}{% endif %}" + end + "{% endfor %}"
        "{% if add_generation_prompt %}" + start + "assistant" + role_end + "{% endif %}"
    )


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def lint_config(folder: Path, trust_remote_code: bool = False) -> None:
    """transformers' strict config validation: mlx_vlm processors load AutoTokenizer, which loads AutoConfig in v5."""
    from transformers import AutoConfig

    AutoConfig.from_pretrained(str(folder), trust_remote_code=trust_remote_code)


def write_twin_files(files: TwinFiles, folder: Path) -> None:
    """All non-weight files. Pure Python (tokenizers / transformers), no mlx."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(files.tokenizer, folder)
    _dump(folder / "config.json", files.config)
    if files.preprocessor_config is not None:
        _dump(folder / "preprocessor_config.json", files.preprocessor_config)
    if files.processor_config is not None:
        _dump(folder / "processor_config.json", files.processor_config)
    if files.chat_template is not None:
        (folder / "chat_template.jinja").write_text(files.chat_template)
    for name, content in files.extra_files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    for name in files.drop_files:
        (folder / name).unlink(missing_ok=True)
    if files.lint_config:
        lint_config(folder, files.trust_remote_code)


def cache_root() -> Path:
    return Path(os.environ.get("GRID_CACHE") or Path.home() / ".cache" / "grid") / "twins"


def build_atomically(target: Path, build: Callable[[Path], None]) -> Path:
    """Build into a temp dir next to `target`, then os.rename it into place.

    A concurrent builder of the same spec races harmlessly: whoever renames second finds the target present,
    discards its own copy and returns the winner's (identical, deterministic) folder.
    """
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp)
        (tmp / ".complete").write_text("ok\n")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
