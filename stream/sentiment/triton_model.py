"""Triton python-backend adapter for the sentiment model (copied into each version as model.py).

It only moves tensors: the computation is ``classifier.SentimentClassifier``, beside it. All
requests of a dynamic batch are scored in one forward pass and split back, one response per
request, in order. A request with bad input (text that is not UTF-8) gets an error on its own
response; the others in the batch are still answered.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import SentimentClassifier, labels_and_scores


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        version_dir = Path(args["model_repository"]) / args["model_version"]
        providers: list[Any] = ["CPUExecutionProvider"]
        if args["model_instance_kind"] == "GPU":
            device = int(args["model_instance_device_id"])
            providers = [("CUDAExecutionProvider", {"device_id": device}), "CPUExecutionProvider"]
        variant = params.get("variant", "auto")
        self.classifier = SentimentClassifier(
            version_dir,
            variant=None if variant == "auto" else variant,
            intra_op_threads=int(params.get("intra_op_threads", "0")),
            providers=providers,
        )

    def execute(self, requests: list[Any]) -> list[Any]:
        texts_per_request: list[list[str]] = []
        errors: dict[int, str] = {}
        for i, request in enumerate(requests):
            raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            try:
                texts_per_request.append([_decode(value) for value in raw])
            except UnicodeDecodeError as exc:
                errors[i] = f"TEXT must be UTF-8: {exc}"
                texts_per_request.append([])
        flat = [text for texts in texts_per_request for text in texts]
        try:
            probs = self.classifier.predict_probs(flat)
        except Exception as exc:  # a failed batch answers every request, never kills the stub
            message = f"sentiment model failed on this batch: {type(exc).__name__}: {exc}"
            return [
                pb_utils.InferenceResponse(error=pb_utils.TritonError(message)) for _ in requests
            ]

        responses: list[Any] = []
        offset = 0
        for i, texts in enumerate(texts_per_request):
            if i in errors:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(errors[i])))
                continue
            p = probs[offset : offset + len(texts)]
            offset += len(texts)
            labels, scores = labels_and_scores(p)
            outputs = {
                "PROBS": p.astype(np.float32),
                "LABEL": np.array([s.encode() for s in labels], dtype=np.object_).reshape(-1, 1),
                "SCORE": scores.reshape(-1, 1),
            }
            # Send only what the client asked for (all three when it names none).
            wanted = set(requests[i].requested_output_names()) or set(outputs)
            tensors = [pb_utils.Tensor(k, v) for k, v in outputs.items() if k in wanted]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses


def _decode(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
