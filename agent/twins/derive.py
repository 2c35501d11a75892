"""Generic twin configs: shrink the dimensions of an architecture's own mlx-vlm config dataclasses, keep invariants.

    derive("glm5_next", {"text_config": {...family specifics...}}) -> a plain dict config (HF layout: nested
    text_config / vision_config where the ModelConfig nests them, flat where it is flat, as deepseek_v4)

mlx-free, at import and at call time: importing `mlx_vlm.models.<arch>.config` runs mlx_vlm/__init__.py and
models/base.py, which import mlx.core (checked on mlx-vlm 0.7.10), and builders also run in mlx-free processes
(grid.driver.validate / placement call twin_files). So this module reads `mlx_vlm/models/<arch>/config.py` as source
with `ast`, located on disk as agent.twins.coverage does: each `@dataclass` class's annotated fields and their literal
defaults (`field(default_factory=dict|list|lambda: <literal>)` included; None defaults are left out), base classes followed through the module's
imports (qwen4_exp's VisionConfig extends qwen3_vl's). Defaults that are not literals are left out (the dataclass
fills them). `__post_init__` logic is not run: values it derives from others (layer_types from num_hidden_layers,
head_dim from qk dims, ...) are left to it wherever the default is None, and the weight builder instantiates the real
ModelConfig, so a config that breaks an invariant this module does not know fails the build loudly.

What is shrunk, by field name (a vision-like class, or a `vision_` / `vt_` prefixed field of a flat config, gets the
vision sizes of agent.twins.common): widths, FFN / MoE widths, depth, heads (kv heads follow the real ratio: MHA stays
MHA, MQA stays MQA, GQA becomes 4:2), head_dim, vocab, experts (top-k <= experts, shared <= 1, one expert group, first
dense layers <= 1), MLA ranks and head dims, cross-tower widths (out_hidden_size = the text hidden size). Invariants
kept: heads | hidden, kv | heads, rope sections (`*_section` in rope dicts) sum to the rotary half, layer-index lists
(`*_layer_ids`, `*_indexes`, ...) mapped onto the new depth, per-layer lists (`layer_types`, ...) resampled to it.
`problems(cfg)` lists what a derived (and merged) config still breaks, e.g. a token id past the tiny vocab.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
from pathlib import Path

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    TINY_VOCAB,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
)

MOE_FFN = 32
EXPERTS = 4
TOP_K = 2
_MISSING = object()

# field name -> (text value, vision value); a callable gets (default, sizes) and returns the new value
_DIMS = {
    "hidden": ("hidden_size", "dim", "embed_dim", "width", "d_model", "n_embd"),
    "ffn": ("intermediate_size", "inter_dim", "ffn_dim", "mlp_dim", "dense_intermediate_size", "ffn_hidden_size"),
    "layers": ("num_hidden_layers", "num_layers", "n_layers", "depth", "n_layer"),
    "heads": ("num_attention_heads", "num_heads", "n_heads", "n_head"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads"),
    "head_dim": ("head_dim", "attention_head_dim"),
    "vocab": ("vocab_size",),
    "experts": ("n_routed_experts", "num_experts", "num_local_experts", "moe_num_experts"),
    "top_k": ("num_experts_per_tok", "num_experts_per_token", "moe_topk", "moe_k"),
    "shared": ("n_shared_experts", "num_shared_experts"),
    "moe_ffn": ("moe_intermediate_size", "shared_intermediate_size", "shared_expert_intermediate_size"),
    "groups": ("n_group", "num_expert_group", "topk_group"),
    "dense_first": ("first_k_dense_replace",),
    "q_lora": ("q_lora_rank",),
    "kv_lora": ("kv_lora_rank", "o_lora_rank"),
    "rope_head": ("qk_rope_head_dim",),
    "nope_head": ("qk_nope_head_dim",),
    "v_head": ("v_head_dim",),
    "to_text": ("out_hidden_size", "text_hidden_size", "projection_dim", "projector_hidden_size"),
    "proj_ffn": ("projection_intermediate_size",),
    "lin_heads": ("linear_num_heads", "linear_num_value_heads"),
    "lin_k_heads": ("linear_num_key_heads",),
    "lin_head_dim": ("linear_head_dim", "linear_key_head_dim", "linear_value_head_dim"),
}
_UNKNOWN = 1 << 30  # the real value of a required field (no default): every rule picks its tiny value
_ROLE_OF = {name: role for role, names in _DIMS.items() for name in names}
_VISION_PREFIXES = ("vision_", "vt_")
_LAYER_LIST_SUFFIXES = ("_layer_ids", "_indexes", "_block_indexes", "_layer_idx", "_layers_ids")
_PER_LAYER_LISTS = ("layer_types", "mlp_layer_types", "indexer_types", "compress_ratios", "moe_layer_freq")


def _models_dir() -> Path:
    spec = importlib.util.find_spec("mlx_vlm")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mlx-vlm is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _literal(node: ast.AST, constants: dict):
    if isinstance(node, ast.Name) and node.id in constants:
        return copy.deepcopy(constants[node.id])
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "field":
        for kw in node.keywords:
            if kw.arg == "default":
                return _literal(kw.value, constants)
            if kw.arg == "default_factory":
                factory = kw.value
                if isinstance(factory, ast.Name) and factory.id in ("dict", "list"):
                    return {} if factory.id == "dict" else []
                if isinstance(factory, ast.Lambda):
                    return _literal(factory.body, constants)
        return _MISSING
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return _MISSING


def _module_classes(path: Path, seen: dict) -> dict[str, dict]:
    """class name -> {"fields": {name: default or _MISSING}, "nested": {field: class info}} for one config.py."""
    if path in seen:
        return seen[path]
    tree = ast.parse(path.read_text())
    constants = {}
    imported: dict[str, tuple[Path, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal(node.value, {})
            if value is not _MISSING:
                constants[node.targets[0].id] = value
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            target = path.parents[node.level - 1].joinpath(*node.module.split(".")).with_suffix(".py")
            for alias in node.names:
                imported[alias.asname or alias.name] = (target, alias.name)
    class_nodes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    classes: dict[str, dict] = {node.name: {"fields": {}, "nested": {}} for node in class_nodes}
    seen[path] = classes

    def lookup(name: str | None) -> dict | None:
        if name in classes:
            return classes[name]
        if name in imported and imported[name][0].exists():
            return _module_classes(imported[name][0], seen).get(imported[name][1])
        return None

    for node in class_nodes:  # in source order: a base class defined above is complete when its child reads it
        info = classes[node.name]
        for base in node.bases:
            parent = lookup(getattr(base, "id", None))
            if parent:
                info["fields"].update(copy.deepcopy(parent["fields"]))
                info["nested"].update(parent["nested"])
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                info["fields"][name] = _literal(stmt.value, constants) if stmt.value is not None else _MISSING
                refs = [n.id for n in ast.walk(stmt.annotation) if isinstance(n, ast.Name)]
                refs += [n.value for n in ast.walk(stmt.annotation) if isinstance(n, ast.Constant)]
                for ref in refs:  # Optional[TextConfig], "TextConfig" (a forward reference), an imported class
                    sub = lookup(ref) if isinstance(ref, str) and ref != node.name else None
                    if sub is not None and "Config" in ref:
                        info["nested"][name] = sub
    return classes


def config_classes(arch: str) -> dict[str, dict]:
    """The dataclasses of mlx_vlm/models/<arch>/config.py, read as source (see the module docstring)."""
    path = _models_dir() / arch / "config.py"
    if not path.exists():
        raise FileNotFoundError(f"mlx-vlm has no config module for {arch!r} ({path})")
    return _module_classes(path, {})


def _kv_heads(default, heads: int, default_heads) -> int:
    if not isinstance(default, int) or not isinstance(default_heads, int):
        return TINY_KV_HEADS if heads == TINY_HEADS else heads
    if default == default_heads:
        return heads
    return 1 if default == 1 else min(TINY_KV_HEADS, heads)


def _shrink(role: str, default, vision: bool, text_hidden: int):
    """The tiny value of one dimension field (None / 0 defaults stay: they mean 'derived' or 'off')."""
    if not isinstance(default, int) or isinstance(default, bool) or default <= 0:
        return default
    hidden, ffn, heads = (VISION_HIDDEN, VISION_FFN, VISION_HEADS) if vision else (TINY_HIDDEN, TINY_FFN, TINY_HEADS)
    values = {
        "hidden": hidden,
        "ffn": ffn,
        "layers": TINY_LAYERS,
        "heads": heads,
        "head_dim": hidden // heads,
        "vocab": TINY_VOCAB,
        "experts": EXPERTS,
        "top_k": min(default, TOP_K),
        "shared": min(default, 1),
        "moe_ffn": MOE_FFN,
        "groups": 1,
        "dense_first": min(default, 1),
        "q_lora": 32,
        "kv_lora": 16,
        "rope_head": 8,
        "nope_head": 8,
        "v_head": TINY_HEAD_DIM,
        "to_text": text_hidden,
        "proj_ffn": TINY_FFN,
        "lin_heads": TINY_HEADS,
        "lin_k_heads": TINY_KV_HEADS,
        "lin_head_dim": TINY_HEAD_DIM,
    }
    return values[role] if role in values else default


def _scale_indexes(values: list, old: int, new: int) -> list:
    """Layer indexes of an `old`-deep stack mapped onto `new` layers (negative ones stay: they count from the end)."""
    out: list = []
    for v in values:
        if not isinstance(v, int) or v < 0:
            mapped = v
        else:
            mapped = min(new - 1, v * new // max(old, 1))
        if mapped not in out:
            out.append(mapped)
    return out


def _resample(values: list, new: int) -> list:
    """A per-layer list cut to `new` layers, keeping each distinct kind once where there is room (in order)."""
    kinds: list = []
    for v in values:
        if v not in kinds:
            kinds.append(v)
    if len(kinds) >= new:
        return copy.deepcopy(kinds[:new])
    out = copy.deepcopy(values[:new])
    for kind in kinds:
        if kind in out:
            continue
        j = max(i for i, v in enumerate(out) if out.count(v) > 1)
        out[j] = copy.deepcopy(kind)
    return out


def fix_rope_sections(rope: dict | None, rotary_half: int) -> dict | None:
    """Rope dicts with `*_section` lists (mrope_section, xdrope_section): scaled to sum to rotary_half."""
    if not isinstance(rope, dict):
        return rope
    rope = dict(rope)
    for key, value in rope.items():
        if key.endswith("section") and isinstance(value, list) and value and sum(value) != rotary_half:
            total = sum(value)
            scaled = [max(1, v * rotary_half // total) for v in value]
            scaled[0] += rotary_half - sum(scaled)
            rope[key] = scaled
    return rope


def _derive_class(info: dict, where: str, vision: bool, text_hidden: int, required: list) -> dict:
    defaults = {k: v for k, v in info["fields"].items() if v is not _MISSING}
    out: dict = {}
    for key, default in info["fields"].items():
        if key in info["nested"]:
            continue
        field_vision, base = vision, key
        for prefix in _VISION_PREFIXES:
            if key.startswith(prefix) and not vision:
                field_vision, base = True, key[len(prefix) :]
        role = _ROLE_OF.get(base)
        if role is None and base.startswith("n_") and _ROLE_OF.get("num_" + base[2:]):
            role = _ROLE_OF["num_" + base[2:]]
        if role:
            out[key] = _shrink(role, _UNKNOWN if default is _MISSING else default, field_vision, text_hidden)
        elif default is _MISSING:
            required.append(f"{where}{key}")
        elif default is None:
            continue  # unset: left out, as a checkpoint's config.json does (a "quantization": null breaks convert)
        else:
            out[key] = copy.deepcopy(default)
    for key in [k for k in out if _ROLE_OF.get(k) == "kv_heads"]:
        heads_key = next((k for k in ("num_attention_heads", "num_heads", "n_heads") if k in out), None)
        if heads_key:
            out[key] = _kv_heads(defaults.get(key), out[heads_key], defaults.get(heads_key))
    old_layers = next((defaults[k] for k in _DIMS["layers"] if isinstance(defaults.get(k), int)), None)
    new_layers = next((out[k] for k in _DIMS["layers"] if isinstance(out.get(k), int)), None)
    for key, value in list(out.items()):
        if not isinstance(value, list) or not value or not old_layers or not new_layers:
            continue
        if key.endswith(_LAYER_LIST_SUFFIXES) and all(isinstance(v, int) for v in value):
            out[key] = _scale_indexes(value, old_layers, new_layers)
        elif key in _PER_LAYER_LISTS and len(value) == old_layers:
            out[key] = _resample(value, new_layers)
    heads = out.get("num_attention_heads") or out.get("num_heads")
    head_dim = out.get("head_dim")
    if not isinstance(head_dim, int) or isinstance(head_dim, bool):
        hidden = out.get("hidden_size")
        ok = isinstance(hidden, int) and isinstance(heads, int) and heads > 0
        head_dim = hidden // heads if ok else 0
    for key in ("rope_scaling", "rope_parameters"):
        rope = out.get(key)
        if not head_dim or not isinstance(rope, dict):
            continue
        partial = rope.get("partial_rotary_factor") or out.get("partial_rotary_factor") or 1.0
        if not isinstance(partial, (int, float)):
            continue
        sections = max((len(v) for k, v in rope.items() if k.endswith("section") and isinstance(v, list)), default=0)
        while sections and int(head_dim * partial) // 2 <= sections and "head_dim" in info["fields"]:
            head_dim *= 2  # a partial rotary too narrow for one dim per section: widen the heads, as qwen3_5 does
            out["head_dim"] = head_dim
        out[key] = fix_rope_sections(rope, int(head_dim * partial) // 2)
    for key, sub in info["nested"].items():
        sub_vision = vision or "vision" in key or "audio" in key or "vit" in key
        out[key] = _derive_class(sub, f"{where}{key}.", sub_vision, text_hidden, required)
    return out


def derive(arch: str, specifics: dict | None = None, *, root: str = "ModelConfig") -> dict:
    """A tiny config for `arch` from its own mlx-vlm config dataclasses, with `specifics` merged in last."""
    classes = config_classes(arch)
    if root not in classes:
        raise KeyError(f"{arch}: no {root} in its config module (classes: {', '.join(classes)})")
    required: list[str] = []
    cfg = deep_merge(_derive_class(classes[root], "", False, TINY_HIDDEN, required), specifics)
    missing = [r for r in required if not _supplied(cfg, r)]
    if missing:
        raise ValueError(f"{arch}: required config fields without a default, not in the specifics: {missing}")
    return cfg


def _supplied(cfg: dict, path: str) -> bool:
    """Whether the dotted `path` (text_config.rms_norm_eps) has a value in the merged config."""
    *parents, key = path.split(".")
    for parent in parents:
        cfg = cfg.get(parent)
        if not isinstance(cfg, dict):
            return False
    return key in cfg


def _towers(cfg: dict):
    yield "", cfg, False
    for key, sub in cfg.items():
        if isinstance(sub, dict) and key.endswith("_config") and any(k in sub for k in _ROLE_OF):
            yield key, sub, "vision" in key or "audio" in key


def problems(cfg: dict) -> list[str]:
    """Invariants a tiny config breaks (empty when none): heads | hidden, kv | heads, top-k <= experts, token ids
    inside the vocab, layer-index lists inside the depth, rope sections summing to the rotary half."""
    out: list[str] = []
    vocab = max([cfg.get("vocab_size") or 0] + [s.get("vocab_size") or 0 for _, s, v in _towers(cfg) if not v])
    for where, c, _vision in _towers(cfg):
        tag = where or "root"
        for hidden_k, heads_k in (("hidden_size", "num_attention_heads"), ("hidden_size", "num_heads")):
            h, n = c.get(hidden_k), c.get(heads_k)
            if isinstance(h, int) and isinstance(n, int) and n and not c.get("head_dim") and h % n:
                out.append(f"{tag}: {heads_k} {n} does not divide {hidden_k} {h}")
        n, kv = c.get("num_attention_heads"), c.get("num_key_value_heads")
        if isinstance(n, int) and isinstance(kv, int) and kv and n % kv:
            out.append(f"{tag}: num_key_value_heads {kv} does not divide num_attention_heads {n}")
        experts = next((c[k] for k in _DIMS["experts"] if isinstance(c.get(k), int)), None)
        top_k = next((c[k] for k in _DIMS["top_k"] if isinstance(c.get(k), int)), None)
        if experts and top_k and top_k > experts:
            out.append(f"{tag}: top-k {top_k} > experts {experts}")
        layers = next((c[k] for k in _DIMS["layers"] if isinstance(c.get(k), int)), None)
        for key, value in c.items():
            if layers and key.endswith(_LAYER_LIST_SUFFIXES) and isinstance(value, list):
                bad = [v for v in value if isinstance(v, int) and v >= layers]
                if bad:
                    out.append(f"{tag}: {key} {bad} outside {layers} layers")
            if layers and key in _PER_LAYER_LISTS and isinstance(value, list) and value and len(value) != layers:
                out.append(f"{tag}: {key} has {len(value)} entries for {layers} layers")
        head_dim = c.get("head_dim")
        for key in ("rope_scaling", "rope_parameters"):
            rope = c.get(key)
            if isinstance(rope, dict) and isinstance(head_dim, int) and head_dim:
                half = int(head_dim * (rope.get("partial_rotary_factor") or c.get("partial_rotary_factor") or 1)) // 2
                for k, v in rope.items():
                    if k.endswith("section") and isinstance(v, list) and sum(v) != half:
                        out.append(f"{tag}: {key}.{k} sums to {sum(v)}, not head_dim/2 = {half}")
    for where, c, _vision in _towers(cfg):
        for key, value in c.items():
            ids = value if isinstance(value, list) else [value]
            if key.endswith(("_token_id", "_token_index", "_token_ids")) and vocab:
                bad = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and i >= vocab]
                if bad:
                    out.append(f"{where or 'root'}: {key} {bad} outside the vocab of {vocab}")
    return out
