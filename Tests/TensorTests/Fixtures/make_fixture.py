"""Writes tiny.safetensors with Python's `safetensors` package, for SafetensorsTests.testReadsFileWrittenByPython.

Run from this directory:  python3 make_fixture.py
Values are simple closed forms so the Swift test can state them without reading this script.
"""
import numpy as np
from safetensors.numpy import save_file

tensors = {
    # F32 (2, 3): k * 0.25 - 0.5 for k = 0..5
    "encoder.weight": (np.arange(6, dtype=np.float32) * 0.25 - 0.5).reshape(2, 3),
    # F32 scalar-like (1,): pi
    "encoder.bias": np.array([3.14159265], dtype=np.float32),
    # F16 (4,): includes the smallest subnormal 2^-24 and a negative value
    "half": np.array([1.5, -2.0, 2.0 ** -24, 65504.0], dtype=np.float16),
    # I64 (1, 4): like BERT's position_ids buffer; must be skipped, not loaded
    "embeddings.position_ids": np.arange(4, dtype=np.int64).reshape(1, 4),
}
metadata = {"format": "pt", "note": "unipelt \"fixture\" ✓"}
save_file(tensors, "tiny.safetensors", metadata=metadata)

# BF16 has no numpy dtype: write it with torch when available (developers only).
try:
    import torch
    from safetensors.torch import save_file as save_torch
    save_torch({"bf16": torch.tensor([1.0, -0.5, 3.0e38, 2.0 ** -130], dtype=torch.bfloat16)},
               "bf16.safetensors", metadata={"format": "pt"})
except ImportError:
    pass
