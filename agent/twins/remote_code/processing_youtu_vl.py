"""Stand-in for the processing_youtu_vl.py that Youtu-VL checkpoints ship (trust_remote_code; AutoProcessor resolves
YoutuVLProcessor through auto_map). Neither mlx-vlm 0.7.10 nor transformers has a processor for youtu_vl, so the twin
ships this minimal re-implementation of what the real one does with an image and a prompt, a Qwen2-VL-style
processor as ports of it describe:

* the chat template renders an image part as `<|vision_start|><|image_pad|><|vision_end|>`;
* `__call__(images, text, max_image_patches=36864)` runs the image processor with max_num_patches=max_image_patches
  (the processor's own default, not the image processor's 256) and expands the i-th `<|image_pad|>` to
  nh * nw / merge_size**2 copies, nh x nw being that image's spatial_shapes row;
* returns input_ids, attention_mask, pixel_values (merge-block-major patch rows) and spatial_shapes.
Video input is not re-implemented.
"""

from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin


class YoutuVLProcessor(ProcessorMixin):
    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = "<|image_pad|>"
        self.video_token = "<|video_pad|>"
        super().__init__(image_processor, tokenizer, chat_template=chat_template)

    def __call__(self, images=None, text=None, videos=None, max_image_patches=36864, return_tensors=None, **kwargs):
        if videos is not None:
            raise NotImplementedError("the Youtu-VL stand-in processor handles images only")
        texts = [text] if isinstance(text, str) else list(text or [])
        data = {}
        if images is not None:
            image_inputs = self.image_processor(images=images, max_num_patches=max_image_patches)
            merge_length = self.image_processor.merge_size**2
            counts = iter(int(h * w) // merge_length for h, w in image_inputs["spatial_shapes"])
            for i, prompt in enumerate(texts):
                while self.image_token in prompt:
                    prompt = prompt.replace(self.image_token, "<|placeholder|>" * next(counts), 1)
                texts[i] = prompt.replace("<|placeholder|>", self.image_token)
            data.update(image_inputs)
        data.update(self.tokenizer(texts, **kwargs))
        return BatchFeature(data=data, tensor_type=return_tensors)
