"""Quality measures: the classifier's per-label scores and the dedup's clustering scores."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path


@dataclass
class ClassifierReport:
    accuracy: float
    macro_f1: float
    per_label: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    confusion: list[list[int]]
    labels: list[str]


def classifier_report(gold: list[str], predicted: list[str], labels: list[str]) -> ClassifierReport:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0)
    return ClassifierReport(
        accuracy=sum(g == p for g, p in zip(gold, predicted)) / len(gold),
        macro_f1=float(f1.mean()),
        per_label={lab: (float(p), float(r), float(f), int(s))
                   for lab, p, r, f, s in zip(labels, precision, recall, f1, support)},
        confusion=confusion_matrix(gold, predicted, labels=labels).tolist(),
        labels=labels,
    )


def plot_confusion(report: ClassifierReport, path: Path) -> Path:
    """A confusion-matrix PNG: rows are the true labels, columns the predicted ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(report.labels)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * n, 1 + 0.55 * n), dpi=110)
    ax.imshow(report.confusion, cmap="Blues")
    ax.set_xticks(range(n), report.labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), report.labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = max(max(row) for row in report.confusion) or 1
    for i, row in enumerate(report.confusion):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > peak / 2 else "black")
    ax.set_title(f"accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


@dataclass
class ClusteringReport:
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_pairs: int
    predicted_pairs: int


def clustering_report(gold: dict[str, str], predicted: dict[str, str]) -> ClusteringReport:
    """Pairwise and B-cubed scores of predicted story ids against gold story keys (same item ids)."""
    items = sorted(gold)

    def pairs(assignment: dict[str, str]) -> set[tuple[str, str]]:
        groups = defaultdict(list)
        for item in items:
            groups[assignment[item]].append(item)
        return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}

    true_pairs, predicted_pairs = pairs(gold), pairs(predicted)
    hits = len(true_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0

    gold_size = Counter(gold[i] for i in items)
    predicted_size = Counter(predicted[i] for i in items)
    both = Counter((gold[i], predicted[i]) for i in items)
    b_precision = sum(both[(gold[i], predicted[i])] / predicted_size[predicted[i]] for i in items) / len(items)
    b_recall = sum(both[(gold[i], predicted[i])] / gold_size[gold[i]] for i in items) / len(items)
    return ClusteringReport(
        pairwise_precision=precision, pairwise_recall=recall, pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision, bcubed_recall=b_recall, bcubed_f1=_f1(b_precision, b_recall),
        true_pairs=len(true_pairs), predicted_pairs=len(predicted_pairs),
    )


Groups = list[list[list[str]]]  # cases, each a list of parts, each a list of item ids


def clustering_errors(gold: dict[str, str], predicted: dict[str, str]) -> tuple[Groups, Groups]:
    """(merged, split): predicted stories holding several true ones, and true stories spread over
    several predicted ones; each as its item ids grouped by the other side's story."""
    def grouped(outer: dict[str, str], inner: dict[str, str]) -> Groups:
        parts = defaultdict(lambda: defaultdict(list))
        for item in sorted(outer):
            parts[outer[item]][inner[item]].append(item)
        return [list(by_inner.values()) for by_inner in parts.values() if len(by_inner) > 1]

    return grouped(predicted, gold), grouped(gold, predicted)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
