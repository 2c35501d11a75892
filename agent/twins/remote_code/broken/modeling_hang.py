# Broken twin `hang`: shipped model code (config.json "model_file") that never returns from the vision step, like a
# deadlocked or runaway loop would. Only the runner's wall-clock limit ends it.
import time

from mlx_vlm.models.qwen2_vl import LanguageModel, ModelConfig, TextConfig, VisionConfig, VisionModel  # noqa: F401
from mlx_vlm.models.qwen2_vl import Model as _Qwen2VLModel


class Model(_Qwen2VLModel):
    def get_input_embeddings(self, input_ids=None, pixel_values=None, **kwargs):
        while True:
            time.sleep(1)
