# Broken twin `tokenizer_attribute`: the constructor of the processing_florence2.py that Florence-2 checkpoints ship.
# It extends `tokenizer.additional_special_tokens`, an attribute transformers 5.x tokenizers no longer have.
from transformers.processing_utils import ProcessorMixin


class Florence2Processor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        tokens_to_add = {
            "additional_special_tokens": tokenizer.additional_special_tokens
            + ["<od>", "</od>", "<ocr>", "</ocr>"]
            + [f"<loc_{x}>" for x in range(1000)]
        }
        tokenizer.add_special_tokens(tokens_to_add)
        super().__init__(image_processor, tokenizer)
