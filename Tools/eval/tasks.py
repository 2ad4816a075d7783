"""The paper's tasks beyond text → clip retrieval, evaluated through the `vjsearch` command line on held-out
test reels (seeds from 2,000,000, held-out templates and words only):

- classification   every pool clip against the canonical captions of the pool's distinct events; top-1, and
                   per attribute (the top label's colour, shape, motion or relation, count agree with the clip's)
- VQA              `vjsearch ask` over each event's span with a held-out-template question (`Tools/synth/qa.py`),
                   the type's closed answer set as `--choices`; against the majority answer of each type and
                   against the contrastive baseline, which can only embed "question answer" texts
- chapters         `vjsearch chapters --auto` from a library's stored vectors; boundary F1 within ±0.5 s of the
                   true changes between events (midway across any gap between them, which no clip covers
                   alone) and chapter-label accuracy, against uniform chapters of the same number
- moments          `vjsearch query --top 1` inside each event's own video (`--in`) and across the whole library
- synonyms         R@5 of the pool with everyday-word queries from the held-out lexicon (`Tools/synth/paraphrase.py`)
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tools/synth"))
import paraphrase  # noqa: E402
import qa  # noqa: E402
import vocabulary  # noqa: E402
import world  # noqa: E402

from metrics import boundary_f1, iou, recall_at_k  # noqa: E402


def run(cmd: list[str], stdin: str | None = None) -> str:
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: {' '.join(cmd[:3])}…: {out.stderr.strip()}")
    return out.stdout


def event_of(e: dict) -> world.Event:
    return world.Event(**e)


def label(e: dict) -> str:
    """The canonical caption of a manifest event (the bundle vocabulary's text for it)."""
    return vocabulary.canonical(event_of(e))


def attributes(e: dict) -> dict:
    return {"colour": e["colour"], "shape": e["obj"], "action": e.get("motion") or e.get("relation"),
            "count": e.get("count", 2 if e["kind"] == "interaction" else 1)}


def classification(clip_vecs: np.ndarray, events: list[dict], text_vec: dict) -> dict:
    """Top-1 of each pool clip over the pool's distinct events (labels: canonical captions), and per attribute."""
    labels = sorted({label(e) for e in events})
    by_label = {label(e): e for e in events}
    top = np.argmax(clip_vecs @ np.stack([text_vec[t] for t in labels]).T, axis=1)
    out = {"cls_labels": len(labels),
           "cls_top1": float(np.mean([labels[k] == label(e) for k, e in zip(top, events)]))}
    for attr in ("colour", "shape", "action", "count"):
        out[f"cls_{attr}"] = float(np.mean([attributes(by_label[labels[k]])[attr] == attributes(e)[attr]
                                            for k, e in zip(top, events)]))
    return out


def vqa_items(reels: list[dict], per_type: int, seed: int = 7) -> list[dict]:
    """Up to `per_type` held-out questions of each type, one per event, events in reel order."""
    rng = random.Random(seed)
    items, counts = [], Counter()
    for r in reels:
        for e in r["events"]:
            kinds = [k for k in qa.TYPES if counts[k] < per_type]
            rng.shuffle(kinds)
            for kind in kinds:
                q = qa.question(e["event"], kind, rng, "heldout")
                if q is not None:
                    counts[kind] += 1
                    items.append({"video": r["video"], "start": e["start"], "end": e["end"], **q.to_json()})
                    break
    return items


def vqa_swift(vjsearch: Path, bundle: Path, synth: Path, items: list[dict], threads: int) -> list[str]:
    """`vjsearch ask`'s top answer to each item (the event's span, the type's answers as choices)."""
    def ask(item: dict) -> str:
        out = run([str(vjsearch), "ask", str(synth / item["video"]), item["question"],
                   "--choices", "|".join(qa.ANSWERS[item["type"]]), "--from", f"{item['start']:.3f}",
                   "--to", f"{item['end']:.3f}", "--model", str(bundle), "--json"])
        return json.loads(out)["choices"][0]["choice"]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(ask, items))


def vqa_scores(items: list[dict], answers: list[str]) -> dict:
    """Accuracy per type and overall, with each type's majority-answer baseline."""
    out = {}
    for kind in qa.TYPES:
        rows = [k for k, it in enumerate(items) if it["type"] == kind]
        if not rows:
            continue
        truth = [items[k]["answer"] for k in rows]
        out[f"vqa_{kind}"] = float(np.mean([answers[k] == items[k]["answer"] for k in rows]))
        out[f"vqa_{kind}_majority"] = Counter(truth).most_common(1)[0][1] / len(truth)
        out[f"vqa_{kind}_n"] = len(rows)
    out["vqa_acc"] = float(np.mean([a == it["answer"] for a, it in zip(answers, items)]))
    # Overall majority: each question answered with its type's most common answer.
    out["vqa_majority"] = float(np.mean([out[f"vqa_{it['type']}_majority"] for it in items]))
    return out


def vqa_baseline(emb, frames, reels_by_video: dict, items: list[dict], windows: dict) -> list[str]:
    """The contrastive baseline's answers: its clip embedding over the span against "question answer" texts."""
    answers = []
    for it in items:
        r = reels_by_video[it["video"]]
        span = [w for w in windows[r] if w["end"] > it["start"] and w["start"] < it["end"]]
        clips = emb.clips(frames.normalise(np.stack([frames.clip_u8(r, w["start"]) for w in span]))).numpy()
        v = clips.mean(0)
        cands = qa.ANSWERS[it["type"]]
        t = emb.texts([f"{it['question']} {a}" for a in cands]).numpy()
        answers.append(cands[int(np.argmax(t @ v))])
    return answers


def true_boundaries(r: dict) -> list[float]:
    """Where one event gives way to the next: midway across the gap between them (0.5–1 s, or none)."""
    ev = r["events"]
    return [(a["end"] + b["start"]) / 2 for a, b in zip(ev, ev[1:])]


def label_accuracy(chapters: list[tuple[float, float, str]], r: dict) -> float:
    """Share of the reel's events whose middle falls in a chapter labelled with the event's canonical caption."""
    hits = []
    for e in r["events"]:
        mid = (e["start"] + e["end"]) / 2
        names = [c[2] for c in chapters if c[0] <= mid < c[1]] or [chapters[-1][2]]
        hits.append(names[0] == label(e["event"]))
    return float(np.mean(hits))


def chapters(vjsearch: Path, bundle: Path, library: Path, synth: Path, reels: list[dict], window_vecs: dict,
             vocab: list[str], vocab_vecs: np.ndarray) -> dict:
    """`vjsearch chapters --auto` (stored vectors, the bundle's vocabulary as labels) against uniform chapters of the
    same number, whose labels are the vocabulary text nearest their pooled embedding."""
    f1, f1_uniform, acc, acc_uniform, counts = [], [], [], [], []
    for k, r in enumerate(reels):
        out = run([str(vjsearch), "chapters", str(synth / r["video"]), "--auto", "--json", "--library", str(library),
                   "--model", str(bundle)])
        ours = [(c["start"], c["end"], c["label"]) for c in map(json.loads, out.splitlines())]
        truth = true_boundaries(r)
        f1.append(boundary_f1([c[0] for c in ours[1:]], truth))
        acc.append(label_accuracy(ours, r))
        n, dur = len(ours), r["duration"]
        uniform = [(dur * i / n, dur * (i + 1) / n) for i in range(n)]
        vecs = window_vecs[k]
        starts = np.array([w["start"] for w in r["windows"]])
        named = []
        for a, b in uniform:
            inside = [i for i, s in enumerate(starts) if a <= s + 1.0 < b] or [int(np.argmin(np.abs(starts + 1.0 - a)))]
            u = vecs[inside] / np.linalg.norm(vecs[inside], axis=1, keepdims=True)
            m = u.mean(0)
            named.append((a, b, vocab[int(np.argmax(vocab_vecs @ (m / np.linalg.norm(m))))]))
        f1_uniform.append(boundary_f1([a for a, _ in uniform[1:]], truth))
        acc_uniform.append(label_accuracy(named, r))
        counts.append(n - len(r["events"]))
    return {"chapters_f1": float(np.mean(f1)), "chapters_uniform_f1": float(np.mean(f1_uniform)),
            "chapters_label_acc": float(np.mean(acc)), "chapters_uniform_label_acc": float(np.mean(acc_uniform)),
            "chapters_count_error": float(np.mean(counts))}


def index_library(vjsearch: Path, bundle: Path, library: Path, videos: list[Path]) -> None:
    """A library of `videos` (incremental: `vjsearch index` skips what it holds)."""
    run([str(vjsearch), "index", *map(str, videos), "--library", str(library), "--model", str(bundle)])


def moments(vjsearch: Path, library: Path, synth: Path, reels: list[dict], threads: int) -> dict:
    """Top-1 moment of `vjsearch query` for each event's held-out caption, inside its own video and across the
    library; a hit overlaps an event with the same key at IoU ≥ 0.5."""
    jobs = [(r, e) for r in reels for e in r["events"]]
    by_path = {str((synth / r["video"]).resolve()): r for r in reels}

    def top(query: str, only: str | None) -> dict:
        cmd = [str(vjsearch), "query", query, "--library", str(library), "--top", "1", "--json"]
        if only:
            cmd += ["--in", f"*/{only}"]
        return json.loads(run(cmd).splitlines()[0])

    def hit(m: dict, key: str) -> bool:
        r = by_path.get(str(Path(m["path"]).resolve()))
        return r is not None and any(o["key"] == key and iou((m["start"], m["end"]), (o["start"], o["end"])) >= 0.5
                                     for o in r["events"])

    def one(job):
        r, e = job
        own, lib = top(e["captions"][0], r["video"]), top(e["captions"][0], None)
        spans = sum(min(own["end"], o["end"]) - max(own["start"], o["start"]) > 0.25 for o in r["events"])
        return hit(own, e["key"]), hit(lib, e["key"]), own["end"] - own["start"], spans >= 2

    with ThreadPoolExecutor(threads) as pool:
        res = list(pool.map(one, jobs))
    return {"moment_r1_iou50": float(np.mean([x[0] for x in res])),
            "moment_library_r1_iou50": float(np.mean([x[1] for x in res])),
            "moment_median_s": float(np.median([x[2] for x in res])),
            "moment_multi_event": float(np.mean([x[3] for x in res])),
            "event_median_s": float(np.median([e["end"] - e["start"] for _, e in jobs])),
            "moment_library_queries": len(jobs)}


def synonym_queries(events: list[dict], seed: int = 11) -> list[str]:
    """One everyday-word query per pool event, from the held-out lexicon and templates."""
    rng = random.Random(seed)
    return [paraphrase.caption(e["event"], rng, "heldout") for e in events]


def synonym_recall(clip_vecs: np.ndarray, events: list[dict], queries: list[str], text_vec: dict) -> dict:
    keys = [e["key"] for e in events]
    rec = recall_at_k(np.stack([text_vec[q] for q in queries]) @ clip_vecs.T, keys, keys)
    return {"synonym_r1": rec["r1"], "synonym_r5": rec["r5"], "synonym_r10": rec["r10"]}
