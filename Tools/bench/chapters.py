#!/usr/bin/env python3
"""The reference for Tools/bench/chapters: scikit-learn's Ward clustering with a chain connectivity graph on the
same stored clip vectors that `vjsearch chapters` clustered, and the boundary F1 of both against the reels' events.

    chapters.py --stream PREFIX --chapters OURS.jsonl [--truth TRUTH.txt] [--cluster-ms MS] [--runs 3]

PREFIX.fvecs / PREFIX.segments come from `vjsearch debug dump-stream`; OURS.jsonl is `vjsearch chapters --count N
--json` on that video (N = its number of lines); TRUTH.txt holds the true boundaries, one time in seconds a line.
Prints a summary and a last line `SKLEARN ms=<median fit> agree=<shared boundaries> of=<N-1> f1=<ours> f1_sklearn=<…>`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from metrics import boundary_f1  # noqa: E402


def load_stream(prefix: str) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(prefix + ".fvecs", dtype="<i4")
    d = int(raw[0])
    vectors = raw.reshape(-1, d + 1)[:, 1:].copy().view("<f4")
    segments = np.loadtxt(prefix + ".segments", ndmin=2)
    return vectors, segments


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stream", required=True)
    ap.add_argument("--chapters", required=True)
    ap.add_argument("--truth")
    ap.add_argument("--cluster-ms", type=float, help="vjsearch's in-process clustering time, for the ratio")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from scipy.sparse import diags
    from sklearn.cluster import AgglomerativeClustering

    vectors, segments = load_stream(args.stream)
    n = len(vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ours = [json.loads(line) for line in open(args.chapters)]
    k = len(ours)
    chain = diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1])
    times, labels = [], None
    for _ in range(max(1, args.runs)):
        t0 = time.perf_counter()
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=chain).fit(unit).labels_
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times)[len(times) // 2]
    # sklearn's boundaries midway between the window centres of the clips on either side; vjsearch fits each one
    # inside the stretch both of those windows cover, so the clusters agree when each of its boundaries lies in the
    # overlap of the same two windows.
    centres = segments.mean(axis=1)
    cuts = [i for i in range(1, n) if labels[i] != labels[i - 1]]
    theirs = [round((centres[i - 1] + centres[i]) / 2, 6) for i in cuts]
    mine = [round(c["start"], 6) for c in ours[1:]]
    agree = sum(segments[i, 0] - 1e-6 <= t <= segments[i - 1, 1] + 1e-6 for i, t in zip(cuts, mine))
    print(f"sklearn AgglomerativeClustering(ward, chain connectivity): {n} clips → {k} chapters, fit {ms:.1f} ms "
          f"(median of {len(times)})")
    print(f"boundaries shared with vjsearch: {agree} of {k - 1}")
    f1 = f1_sklearn = float("nan")
    if args.truth:
        truth = [float(x) for x in open(args.truth).read().split()]
        f1, f1_sklearn = boundary_f1(mine, truth), boundary_f1(theirs, truth)
        print(f"boundary F1 within ±0.5 s against {len(truth)} true boundaries: vjsearch {f1:.3f}, sklearn {f1_sklearn:.3f}")
    if args.cluster_ms:
        print(f"clustering time: vjsearch {args.cluster_ms:.1f} ms, sklearn {ms:.1f} ms: "
              f"vjsearch {ms / max(args.cluster_ms, 1e-3):.1f}× faster")
    print(f"SKLEARN ms={ms:.1f} agree={agree} of={k - 1} f1={f1:.3f} f1_sklearn={f1_sklearn:.3f}")


if __name__ == "__main__":
    main()
