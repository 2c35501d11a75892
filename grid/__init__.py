"""grid: a distributed benchmark grid for vision-language models on MLX."""

__version__ = "0.1.0"
