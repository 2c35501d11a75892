# Broken twin `missing_processor_file`: the processing_phi3_v.py that Phi-3.5-vision ships. Its image processor lives
# in image_processing_phi3_v.py, which preprocessor_config.json's auto_map names but the folder does not contain
# (as in the mlx-community conversion the seed report ran).
from transformers.processing_utils import ProcessorMixin


class Phi3VProcessor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"
