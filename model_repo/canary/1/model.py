"""Triton adapter for the canary model: computation in `canary`, tensors here.

N_CHARS is the number of characters of each UTF-8 TEXT; Y = 2 * X + 1. A bad request (text that
is not UTF-8) gets an error on its own response; the other requests of the batch still succeed.
"""

import numpy as np
import triton_python_backend_utils as pb_utils


def canary(texts: list[bytes], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_chars = np.array([[len(t.decode("utf-8"))] for t in texts], dtype=np.int32)
    return n_chars, (2.0 * x + 1.0).astype(np.float32)


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            try:
                n_chars, y = canary(list(texts), x)
            except UnicodeDecodeError as exc:
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"TEXT is not UTF-8: {exc}"))
                )
                continue
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor("N_CHARS", n_chars), pb_utils.Tensor("Y", y)]
                )
            )
        return responses
