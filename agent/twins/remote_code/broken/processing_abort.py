# Broken twin `abort`: model-shipped processor code that kills the process from native code (like a C extension
# assertion or a segfault would): no Python exception, the interpreter just dies with SIGABRT.
import os

from transformers.processing_utils import ProcessorMixin


class AbortingProcessor(ProcessorMixin):
    attributes = ["tokenizer"]
    tokenizer_class = "AutoTokenizer"

    def __init__(self, tokenizer=None, **kwargs):
        os.abort()
