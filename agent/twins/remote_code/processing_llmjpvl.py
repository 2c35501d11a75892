"""Stand-in for the processing_llmjpvl.py that LLM-jp-VL checkpoints ship (trust_remote_code; AutoProcessor resolves
LLMjpVLProcessor through auto_map). Neither mlx-vlm 0.7.10 nor transformers has a processor for llmjpvl, so the twin
ships this minimal, torch-free re-implementation of what the real one does with an image and a prompt, following its
documented behaviour (llm-jp/llm-jp-4-vl finetune/dataset.py, and ports that pinned the checkpoints' own processor
token-exact):

* each image is tiled InternVL-style (`dynamic_preprocess`: the grid of at most `max_dynamic_patch` tiles closest to
  the image's aspect ratio, ties going to the larger grid when the image area exceeds half of it, plus a thumbnail
  when there is more than one tile), the per-prompt tile budget shrinking with the text length:
  `((model_max_length - text_tokens) // images - 2) // image_seq_length - 1`, clamped to [1, max_dynamic_patch];
* the tiles go through the SigLIP image processor (AutoImageProcessor, preprocessor_config.json);
* each `<image>` of the text becomes `<|image_start|>` + `<|image_pad|>` * (image_seq_length * tiles) +
  `<|image_end|>`; the output is input_ids, attention_mask, pixel_values (all tiles of all images) and
  num_patches_list (tiles per image);
* apply_chat_template flattens list content (an image part becomes `<image>`), renders the checkpoint's Harmony
  template and appends `<|channel|>final<|message|>` to a generation prompt. The processor itself carries no
  chat_template (__init__ takes none), so callers that go through the tokenizer's template (mlx-vlm does) get the
  bare `<|start|>assistant` ending.
"""

import numpy as np
from PIL import Image
from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin

GENERATION_SUFFIX = "<|channel|>final<|message|>"


def _closest_grid(aspect_ratio, grids, width, height, image_size):
    best_diff, best = float("inf"), (1, 1)
    area = width * height
    for grid in grids:
        diff = abs(aspect_ratio - grid[0] / grid[1])
        if diff < best_diff:
            best_diff, best = diff, grid
        elif diff == best_diff and area > 0.5 * image_size * image_size * grid[0] * grid[1]:
            best = grid
    return best


def dynamic_preprocess(image, min_num=1, max_num=12, image_size=448, use_thumbnail=False):
    width, height = image.size
    grids = sorted(
        {(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
         if min_num <= i * j <= max_num},
        key=lambda g: g[0] * g[1],
    )
    cols, rows = _closest_grid(width / height, grids, width, height, image_size)
    resized = image.resize((image_size * cols, image_size * rows))
    tiles = [
        resized.crop(((i % cols) * image_size, (i // cols) * image_size,
                      (i % cols + 1) * image_size, (i // cols + 1) * image_size))
        for i in range(cols * rows)
    ]
    if use_thumbnail and len(tiles) != 1:
        tiles.append(image.resize((image_size, image_size)))
    return tiles


class LLMjpVLProcessor(ProcessorMixin):
    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, image_seq_length=256, max_dynamic_patch=12,
                 min_dynamic_patch=1, use_thumbnail=True):
        self.image_seq_length = image_seq_length
        self.max_dynamic_patch = max_dynamic_patch
        self.min_dynamic_patch = min_dynamic_patch
        self.use_thumbnail = use_thumbnail
        self.image_token = "<image>"
        super().__init__(image_processor, tokenizer)

    def apply_chat_template(self, conversation, chat_template=None, **kwargs):
        flat = []
        for message in conversation:
            content = message["content"]
            if not isinstance(content, str):
                content = "".join(
                    self.image_token if part.get("type") in ("image", "image_url") else part.get("text", "")
                    for part in content
                )
            flat.append({"role": message["role"], "content": content})
        tokenize = kwargs.pop("tokenize", False)
        return_dict = kwargs.pop("return_dict", False)
        add_generation_prompt = kwargs.pop("add_generation_prompt", False)
        text = self.tokenizer.apply_chat_template(
            flat, chat_template=chat_template, tokenize=False, add_generation_prompt=add_generation_prompt
        )
        if add_generation_prompt:
            text += GENERATION_SUFFIX
        if not tokenize:
            return text
        inputs = self.tokenizer(text, add_special_tokens=False, return_tensors=kwargs.get("return_tensors"))
        return inputs if return_dict else inputs["input_ids"]

    def __call__(self, images=None, text=None, return_tensors=None, **kwargs):
        texts = [text] if isinstance(text, str) else list(text or [])
        images = [images] if isinstance(images, Image.Image) else list(images or [])
        if sum(t.count(self.image_token) for t in texts) != len(images):
            raise ValueError("the number of images does not match the <image> placeholders")
        size = self.image_processor.size
        image_size = size["height"] if isinstance(size, dict) else size.height
        pixel_values, num_patches_list, expanded, index = [], [], [], 0
        for prompt in texts:
            count = prompt.count(self.image_token)
            text_tokens = len(self.tokenizer.encode(prompt.replace(self.image_token, ""), add_special_tokens=False))
            budget = ((self.tokenizer.model_max_length - text_tokens) // max(count, 1) - 2) // self.image_seq_length
            max_num = max(1, min(self.max_dynamic_patch, budget - 1))
            for _ in range(count):
                tiles = dynamic_preprocess(
                    images[index].convert("RGB"), self.min_dynamic_patch, max_num, image_size, self.use_thumbnail
                )
                index += 1
                pixel_values.extend(self.image_processor(images=tiles, return_tensors="np")["pixel_values"])
                num_patches_list.append(len(tiles))
                block = "<|image_start|>" + "<|image_pad|>" * (self.image_seq_length * len(tiles)) + "<|image_end|>"
                prompt = prompt.replace(self.image_token, block, 1)
            expanded.append(prompt)
        data = dict(self.tokenizer(expanded, **kwargs))
        if pixel_values:
            data["pixel_values"] = np.stack(pixel_values)
            data["num_patches_list"] = num_patches_list
        return BatchFeature(data=data, tensor_type=return_tensors)
