"""Retrieval metrics for vljepa-mini's held-out evaluation, shared by the PyTorch and the Swift-side runs.

- Text → clip: R@k over a pool of clips. A retrieved clip is correct when its ground-truth event key equals
  the query's event key (attribute for attribute), since several clips can show the same event.
- Moment retrieval: per long video, the windows' scores for a query are turned into one moment
  (`moment_from_scores`), compared with the true event span by temporal IoU.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np


def recall_at_k(sim: np.ndarray, query_keys: list[str], clip_keys: list[str], ks=(1, 5, 10)) -> dict[str, float]:
    """sim: [Q, C] similarities. Returns {"r1": …, "r5": …, "r10": …}."""
    order = np.argsort(-sim, axis=1)
    ck = np.array(clip_keys)
    out = {}
    for k in ks:
        hits = [(ck[order[q, :k]] == query_keys[q]).any() for q in range(len(query_keys))]
        out[f"r{k}"] = float(np.mean(hits))
    return out


def clips_per_event(clip_keys: list[str]) -> dict[int, int]:
    """How many events are shown by exactly n clips of the pool: {n: number of events}."""
    return dict(sorted(Counter(Counter(clip_keys).values()).items()))


@dataclass(frozen=True)
class MomentRule:
    """Grow a moment from the best window over its neighbours while their score stays within
    `keep` × (peak − video median) of the peak; its span runs between the midpoints of its edge windows' centres
    and their outside neighbours'. This is `Catalog.MomentRule` with `Segment.span`; `vjsearch query` also drops
    further peaks at or below the median and trims overlapping moments, which never changes a video's top
    moment, the only one evaluated here."""

    keep: float = 0.3


def moment_from_scores(starts: np.ndarray, window: float, scores: np.ndarray, rule: MomentRule) -> tuple[float, float, float]:
    """(start, end, score) of the best moment in one video; windows are [starts[i], starts[i] + window]."""
    peak = int(np.argmax(scores))
    floor = scores[peak] - rule.keep * (scores[peak] - float(np.median(scores)))
    lo = hi = peak
    while lo > 0 and scores[lo - 1] >= floor:
        lo -= 1
    while hi < len(scores) - 1 and scores[hi + 1] >= floor:
        hi += 1
    centre = starts + window / 2
    start = float(starts[lo]) if lo == 0 else float(centre[lo - 1] + centre[lo]) / 2
    end = float(starts[hi] + window) if hi == len(scores) - 1 else float(centre[hi] + centre[hi + 1]) / 2
    return start, end, float(scores[peak])


def boundary_f1(predicted: list[float], truth: list[float], tolerance: float = 0.5) -> float:
    """F1 of predicted against true boundary times (seconds): one-to-one matches within `tolerance`, nearest
    pairs first."""
    pairs = sorted((abs(p - t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(truth)
                   if abs(p - t) <= tolerance)
    used_p, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    if not predicted or not truth or not used_p:
        return 0.0
    precision, recall = len(used_p) / len(predicted), len(used_t) / len(truth)
    return 2 * precision * recall / (precision + recall)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def window_starts(duration: float, window: float, stride: float) -> np.ndarray:
    """Window starts covering [0, duration]: every `stride` seconds, plus one ending at the video's end."""
    if duration <= window:
        return np.array([0.0])
    starts = list(np.arange(0.0, duration - window + 1e-9, stride))
    if starts[-1] + window < duration - 1e-6:
        starts.append(duration - window)
    return np.array(starts)
