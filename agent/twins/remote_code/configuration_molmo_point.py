# Minimal stand-in for the configuration_molmo_point.py that MolmoPoint checkpoints ship (trust_remote_code):
# transformers 5.24 has Molmo2 natively but not MolmoPoint. Sub-configs (vit/adapter/text) stay plain dicts.
from transformers import PretrainedConfig


class MolmoPointConfig(PretrainedConfig):
    model_type = "molmo_point"

    def __init__(self, vit_config=None, adapter_config=None, text_config=None, image_start_token_id=151936,
                 image_end_token_id=151937, image_patch_id=151938, image_col_id=151939,
                 image_non_indexable_patch_id=151942, patch_token_id=151947, subpatch_token_id=151948,
                 location_token_id=151949, tie_word_embeddings=False, **kwargs):
        self.vit_config = vit_config or {}
        self.adapter_config = adapter_config or {}
        self.text_config = text_config or {}
        self.image_start_token_id = image_start_token_id
        self.image_end_token_id = image_end_token_id
        self.image_patch_id = image_patch_id
        self.image_col_id = image_col_id
        self.image_non_indexable_patch_id = image_non_indexable_patch_id
        self.patch_token_id = patch_token_id
        self.subpatch_token_id = subpatch_token_id
        self.location_token_id = location_token_id
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
