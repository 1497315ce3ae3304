"""Classifier throughput and quality: Wiredesk's batched int8 ONNX path against the plain
fp32 `transformers.pipeline("text-classification")` one-by-one loop, in the same run.

    .venv/bin/python bench/classify_stories.py [--stories 400] [--repeats 3]

Stories are the held-out dev set (data/classifier/dev.jsonl), cycled to --stories.
Prints medians of the repeats, the speed ratio, and macro-F1 of both paths on the dev set.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.classify import EventClassifier, model_dir
from pipeline.evaluate import classifier_report
from pipeline.train import MAX_TOKENS, classifier_input, read_examples

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    dev = read_examples([REPO / "data" / "classifier" / "dev.jsonl"])
    items = [(e["title"], e["summary"]) for e in dev]
    stories = (items * (args.stories // len(items) + 1))[:args.stories]

    ours = EventClassifier(backend="onnx")
    torch.set_num_threads(2)
    baseline = pipeline("text-classification", model=str(model_dir()), device="cpu")

    def run_baseline(batch):
        with torch.inference_mode():
            return [baseline(classifier_input(t, s), truncation=True, max_length=MAX_TOKENS)[0]["label"]
                    for t, s in batch]

    timings = {"baseline": [], "wiredesk": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_baseline(stories)
        timings["baseline"].append(args.stories / (time.perf_counter() - start))
        start = time.perf_counter()
        ours.predict(stories)
        timings["wiredesk"].append(args.stories / (time.perf_counter() - start))

    gold = [e["label"] for e in dev]
    f1_ours = classifier_report(gold, [p.label for p in ours.predict(items)], ours.labels).macro_f1
    baseline_labels = run_baseline(items)
    f1_base = classifier_report(gold, baseline_labels, ours.labels).macro_f1
    agreement = sum(a == p.label for a, p in zip(baseline_labels, ours.predict(items))) / len(items)

    table = Table("path", "stories/s (median)", "runs", f"macro-F1 on dev ({len(dev)})",
                  title=f"{args.stories} stories x {args.repeats} repeats, max {MAX_TOKENS} tokens")
    table.add_row("transformers.pipeline fp32, one by one", f"{statistics.median(timings['baseline']):.1f}",
                  ", ".join(f"{t:.1f}" for t in timings["baseline"]), f"{f1_base:.4f}")
    table.add_row("Wiredesk ONNX int8, batched", f"{statistics.median(timings['wiredesk']):.1f}",
                  ", ".join(f"{t:.1f}" for t in timings["wiredesk"]), f"{f1_ours:.4f}")
    console = Console()
    console.print(table)
    console.print(f"speed ratio (medians): {statistics.median(timings['wiredesk']) / statistics.median(timings['baseline']):.2f}x; "
                  f"label agreement int8 vs fp32: {agreement:.3f}; macro-F1 change: {f1_ours - f1_base:+.4f}")


if __name__ == "__main__":
    main()
