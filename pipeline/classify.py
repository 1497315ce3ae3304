"""Event-type classification of stories with a transformer sequence classifier.

The model is any ``AutoModelForSequenceClassification`` directory whose labels are
the taxonomy's (``WIREDESK_MODEL``; default: the one ``wiredesk train`` builds in
``models/event-type``). When the directory also holds ``model.int8.onnx`` (ours
does), inference runs on ONNX Runtime int8; otherwise on torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import REPO_ROOT
from pipeline.train import MAX_TOKENS, classifier_input

DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "event-type"
ONNX_FILE = "model.int8.onnx"


@dataclass
class Prediction:
    label: str
    confidence: float
    scores: dict[str, float]


def model_dir() -> Path:
    return Path(os.environ.get("WIREDESK_MODEL", DEFAULT_MODEL_DIR))


def model_version(directory: Path) -> str:
    """A hash of the model's files: what each stored classification records."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.name != "training.json"):
        digest.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


class EventClassifier:
    """Loads a model directory once; ``predict`` labels (title, summary) pairs in batches."""

    def __init__(self, directory: Path | None = None, backend: str = "auto", threads: int | None = None):
        from transformers import AutoConfig, AutoTokenizer

        self.directory = Path(directory or model_dir())
        if not (self.directory / "config.json").exists():
            raise FileNotFoundError(f"no model in {self.directory}: run `wiredesk train` or set WIREDESK_MODEL")
        config = AutoConfig.from_pretrained(self.directory)
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.tokenizer = AutoTokenizer.from_pretrained(self.directory)
        self.version = model_version(self.directory)
        threads = threads or min(4, os.cpu_count() or 1)
        if backend == "auto":
            backend = "onnx" if (self.directory / ONNX_FILE).exists() else "torch"
        self.backend = backend
        if backend == "onnx":
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            self._session = onnxruntime.InferenceSession(
                str(self.directory / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        else:
            import torch
            from transformers import AutoModelForSequenceClassification

            torch.set_num_threads(threads)
            self._model = AutoModelForSequenceClassification.from_pretrained(self.directory).eval()

    def predict(self, items: list[tuple[str, str]], batch_size: int = 16) -> list[Prediction]:
        """One Prediction per (title, summary), in input order."""
        texts = [classifier_input(title, summary) for title, summary in items]
        # Similar lengths batch together: less padding, same results.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[Prediction | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            for i, probs in zip(idx, self._probabilities([texts[i] for i in idx])):
                scores = {label: round(float(p), 5) for label, p in zip(self.labels, probs)}
                best = int(np.argmax(probs))
                results[i] = Prediction(self.labels[best], float(probs[best]), scores)
        return results

    def _probabilities(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx":
            batch = self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="np")
            inputs = {i.name: batch[i.name].astype(np.int64) for i in self._session.get_inputs()}
            logits = self._session.run(["logits"], inputs)[0]
        else:
            import torch

            batch = self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = self._model(**batch).logits.numpy()
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
