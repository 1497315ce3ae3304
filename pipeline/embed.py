"""Headline + lede embeddings with the packaged MiniLM encoder, for the pairs dedup cannot settle cheaply.

Loaded on first use only (a few seconds), so runs whose pairs are all settled by shingles and
facts never pay for it. Vectors are L2-normalised: the dot product is the cosine.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MAX_TOKENS = 128  # a headline and a lede fit; longer input only costs time


@dataclass
class EncoderClock:
    """How many texts the encoder embedded and the seconds it took (loading included)."""

    texts: int = 0
    seconds: float = 0.0


CLOCK = EncoderClock()


@lru_cache(maxsize=1)
def _model():
    import torch
    from sentence_transformers import SentenceTransformer

    from pipeline.train import encoder_dir

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    model = SentenceTransformer(str(encoder_dir()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    # The model's millions of objects live as long as the process: without this, every full
    # collection walks them all (half a second each, in the middle of a dedup batch).
    gc.freeze()
    return model


@lru_cache(maxsize=1 << 16)
def embed(text: str) -> np.ndarray:
    """The normalised embedding of one text (memoised: a story's copies are compared many times)."""
    started = time.perf_counter()
    vector = _model().encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
    CLOCK.texts += 1
    CLOCK.seconds += time.perf_counter() - started
    return vector


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts' embeddings."""
    return float(embed(a) @ embed(b))
