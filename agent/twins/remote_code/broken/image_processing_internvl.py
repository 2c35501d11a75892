# Broken twin `processor_mismatch`: an image processor class that is not an ImageProcessingMixin, as the InternVL
# image processor was for transformers 5.x. Whoever passes it to ProcessorMixin.__init__ gets transformers' strict
# class check: "Received a InternVLImageProcessor for argument image_processor, but a ImageProcessingMixin was expected."
from transformers.feature_extraction_utils import FeatureExtractionMixin


class InternVLImageProcessor(FeatureExtractionMixin):
    model_input_names = ["pixel_values"]

    def __init__(self, image_size=448, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
