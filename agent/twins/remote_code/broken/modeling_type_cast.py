# Broken twin `type_cast`: model code shipped with the checkpoint (config.json "model_file", which mlx-vlm imports
# instead of its built-in module). It is mlx-vlm's qwen2_vl model with one bug of the kind the seed report hit in
# deepseek_vl_v2 (`pixel_values[idx, : batch_num_tiles[idx]]` with an mx.array bound): a shape computed as an
# mx.array reaches an op that wants a C++ int, and MLX fails with "RuntimeError: std::bad_cast".
import mlx.core as mx

from mlx_vlm.models.qwen2_vl import LanguageModel, ModelConfig, TextConfig, VisionConfig, VisionModel  # noqa: F401
from mlx_vlm.models.qwen2_vl import Model as _Qwen2VLModel


class Model(_Qwen2VLModel):
    def get_input_embeddings(self, input_ids=None, pixel_values=None, **kwargs):
        if pixel_values is not None:
            num_patches = mx.array(pixel_values.shape[0])  # the bug: an array where an int belongs
            pixel_values = pixel_values.reshape(num_patches, -1)
        return super().get_input_embeddings(input_ids, pixel_values, **kwargs)
