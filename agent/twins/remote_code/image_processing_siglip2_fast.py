"""Stand-in for the image_processing_siglip2_fast.py that Youtu-VL checkpoints ship (trust_remote_code; the real
Siglip2ImageProcessorFast is torchvision-based and, under transformers 5, imports names that moved or were removed,
e.g. DefaultFastImageProcessorKwargs). A minimal PIL/numpy re-implementation of what it does with an image, following
what ports pinned against it (Youtu-VL spatial_shapes for 11 sizes, its convert_image_to_patches order):

* size: each edge scaled by `scale` and rounded UP to a multiple of patch_size * merge_size (at least one block),
  `scale` dropping by 0.02 from 1.0 until the grid holds at most `max_num_patches` patches (the processor passes
  36864); 224 -> 14x14 patches, 330 -> 22x22, 3000x4000 -> 166x220. The walk stops at one block per edge (the
  reference would loop forever there);
* bilinear resize (antialiased), rescale 1/255, normalize with image_mean / image_std;
* patches in merge-block-major order with channel-last features: (C, nh/m, m, p, nw/m, m, p) permuted
  (1, 4, 2, 5, 3, 6, 0) to rows of p * p * C; images concatenated, no padding;
* returns pixel_values (patches, p * p * C) and spatial_shapes (images, 2) = the (nh, nw) patch grids.
"""

import math

import numpy as np
from PIL import Image
from transformers import BatchFeature
from transformers.image_processing_utils import ImageProcessingMixin
from transformers.processing_utils import ImagesKwargs


def get_image_size_for_patches(height, width, patch_size, merge_size, max_num_patches):
    unit = patch_size * merge_size
    scale = 1.0
    while True:
        new_h = max(unit, math.ceil(height * scale / unit) * unit)
        new_w = max(unit, math.ceil(width * scale / unit) * unit)
        if (new_h // patch_size) * (new_w // patch_size) <= max_num_patches or new_h == new_w == unit:
            return new_h, new_w
        scale -= 0.02


def convert_image_to_patches(image, patch_size, merge_size):
    channels, height, width = image.shape
    nh, nw = height // patch_size, width // patch_size
    patches = image.reshape(channels, nh // merge_size, merge_size, patch_size, nw // merge_size, merge_size, patch_size)
    return patches.transpose(1, 4, 2, 5, 3, 6, 0).reshape(nh * nw, patch_size * patch_size * channels)


class Siglip2ImagesKwargs(ImagesKwargs, total=False):
    patch_size: int
    merge_size: int
    max_num_patches: int


class Siglip2ImageProcessorFast(ImageProcessingMixin):
    model_input_names = ["pixel_values", "spatial_shapes"]
    valid_kwargs = Siglip2ImagesKwargs

    def __init__(self, patch_size=16, merge_size=2, max_num_patches=256, image_mean=(0.5, 0.5, 0.5),
                 image_std=(0.5, 0.5, 0.5), rescale_factor=1 / 255, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.merge_size = merge_size
        self.max_num_patches = max_num_patches
        self.image_mean = list(image_mean)
        self.image_std = list(image_std)
        self.rescale_factor = rescale_factor

    def __call__(self, images, **kwargs):
        return self.preprocess(images, **kwargs)

    def preprocess(self, images, max_num_patches=None, return_tensors=None, **kwargs):
        images = [images] if isinstance(images, Image.Image) else list(images)
        max_num_patches = max_num_patches or self.max_num_patches
        mean = np.array(self.image_mean, dtype=np.float32)[:, None, None]
        std = np.array(self.image_std, dtype=np.float32)[:, None, None]
        rows, shapes = [], []
        for image in images:
            image = image.convert("RGB")
            height, width = get_image_size_for_patches(
                image.height, image.width, self.patch_size, self.merge_size, max_num_patches
            )
            pixels = np.asarray(image.resize((width, height), Image.BILINEAR), dtype=np.float32)
            pixels = (pixels.transpose(2, 0, 1) * self.rescale_factor - mean) / std
            rows.append(convert_image_to_patches(pixels, self.patch_size, self.merge_size))
            shapes.append((height // self.patch_size, width // self.patch_size))
        data = {"pixel_values": np.concatenate(rows), "spatial_shapes": np.array(shapes, dtype=np.int64)}
        return BatchFeature(data=data, tensor_type=return_tensors)
