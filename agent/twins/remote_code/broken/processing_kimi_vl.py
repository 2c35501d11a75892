# Broken twin `remote_code_import`: the first lines of the processing_kimi_vl.py that Kimi-VL checkpoints ship. The
# private helper it imports was removed from transformers 5.x, so importing this module fails before any code runs.
from transformers.feature_extraction_utils import BatchFeature  # noqa: F401
from transformers.processing_utils import ProcessingKwargs, ProcessorMixin, Unpack, _validate_images_text_input_order  # noqa: F401


class KimiVLProcessor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"
