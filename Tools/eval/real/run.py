#!/usr/bin/env python3
"""Real-footage dev set: hand-labelled queries on real videos and stills, through the release `vjsearch`.

    Tools/eval/real/run [--bundle Models/vljepa-mini --bundle Models/objects] [--vjsearch .build/release/vjsearch]

1. `make-clips` builds the videos (WORK/videos, skipping built ones).
2. Per bundle, `vjsearch index` embeds them into a fresh library, WORK/libraries/<bundle>.
3. Per label of labels.jsonl, `vjsearch query TEXT --json --top 50 --exact`. Video rank: the rank of the right
   video among the distinct videos in result order (a miss when it is not in the 50 moments). IoU: temporal
   IoU of the right video's best-scoring moment with the labelled span.
Prints a per-query table, the same scores for the `imagenet` and `beyond` labels, a shuffled-query control
(each label against the results of queries about other videos: the bundle's own chance level), then per bundle
`RESULT bundle=<name> real_r1=… real_r5=… real_span_iou50=…`: the fractions of queries whose right video ranks
first, ranks in the top 5, and whose right video's best moment overlaps the span with IoU ≥ 0.5.
Per-query results, with every returned moment, go to WORK/results-<bundle>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import ROOT, make_all  # noqa: E402

HERE = Path(__file__).resolve().parent
TOP = 50


def load_labels(path: Path, manifest: dict) -> list[dict]:
    """labels.jsonl, checked against the manifest: known video, span inside the part its source names."""
    labels, seen, problems = [], set(), []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        lab = json.loads(line)
        where = f"{path.name}:{n}"
        video = manifest.get(lab["video"])
        if video is None:
            problems.append(f"{where}: video '{lab['video']}' is not in the set")
        elif not any(p["source"] == lab["source"] and p["start"] - 0.01 <= lab["start"] < lab["end"] <= p["end"] + 0.01
                     for p in video["parts"]):
            problems.append(f"{where}: {lab['start']}–{lab['end']} s is not inside a part from {lab['source']} "
                            f"in {lab['video']}")
        if lab["query"] in seen:
            problems.append(f"{where}: query '{lab['query']}' appears twice")
        seen.add(lab["query"])
        labels.append(lab)
    if problems:
        sys.exit("error: " + "\nerror: ".join(problems))
    return labels


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def score(label: dict, moments: list[dict]) -> dict:
    """Video rank (1-based, None: not among the moments) and the IoU of the right video's best moment."""
    order = []
    for m in moments:
        name = Path(m["path"]).name
        if name not in order:
            order.append(name)
    rank = order.index(label["video"]) + 1 if label["video"] in order else None
    best = next((m for m in moments if Path(m["path"]).name == label["video"]), None)
    span = iou((best["start"], best["end"]), (label["start"], label["end"])) if best else 0.0
    return {"rank": rank, "iou": span, "best": best, "moments": moments}


def metrics(rows: list[dict]) -> dict:
    n = len(rows)
    return {"r1": sum(r["rank"] == 1 for r in rows) / n,
            "r5": sum(r["rank"] is not None and r["rank"] <= 5 for r in rows) / n,
            "span_iou50": sum(r["iou"] >= 0.5 for r in rows) / n, "n": n}


def shuffled(rows: list[dict]) -> dict:
    """Chance level for this model on this set: each label scored against the results of every query about
    another video.

    It keeps the model's preferences between videos (longer videos, a favourite look), so it is a fairer
    floor than 1/videos: a bundle only understands the text where it beats this."""
    pairs = [score(a, b["moments"]) for a in rows for b in rows if b["video"] != a["video"]]
    return metrics(pairs)


def run_bundle(bundle: Path, args, labels: list[dict], videos: Path) -> list[dict] | None:
    """Indexes the set with one bundle and runs every query; None (with a warning) when indexing fails."""
    library = args.work / "libraries" / bundle.name
    shutil.rmtree(library, ignore_errors=True)
    library.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(args.vjsearch), "index", str(videos), "--library", str(library), "--model", str(bundle), "--json"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"warning: {bundle}: index failed (exit {out.returncode}): {out.stderr.strip()[-1000:]}", file=sys.stderr)
        return None
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    index_s = time.monotonic() - t0
    t0 = time.monotonic()
    rows = []
    for lab in labels:
        q = subprocess.run([str(args.vjsearch), "query", lab["query"], "--library", str(library), "--model",
                            str(bundle), "--json", "--top", str(TOP), "--exact"], capture_output=True, text=True)
        if q.returncode != 0:
            print(f"warning: {bundle}: query '{lab['query']}' failed (exit {q.returncode}): {q.stderr.strip()}",
                  file=sys.stderr)
            return None
        moments = [json.loads(x) for x in q.stdout.splitlines() if x.strip()]
        rows.append({**lab, **score(lab, moments)})
    query_s = time.monotonic() - t0
    print(f"{bundle.name}: indexed {summary['indexed']} videos ({summary['video_seconds']:.0f} s, "
          f"{summary['clips']} clips) in {index_s:.1f} s; {len(labels)} queries in {query_s:.1f} s", file=sys.stderr)
    (args.work / f"results-{bundle.name}.json").write_text(json.dumps(
        {"bundle": str(bundle), "index": summary, "index_s": index_s, "query_s": query_s, "rows": rows}, indent=1))
    return rows


def resolve_bundle(path: Path) -> Path:
    return path if path.is_absolute() or path.exists() else ROOT / path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, action="append",
                    help="model bundle folder, repeatable (default: Models/vljepa-mini and Models/objects)")
    ap.add_argument("--vjsearch", type=Path, default=ROOT / ".build/release/vjsearch")
    ap.add_argument("--work", type=Path, default=ROOT / ".build/eval-real",
                    help="work folder: videos/, libraries/, results-*.json")
    ap.add_argument("--labels", type=Path, default=HERE / "labels.jsonl")
    ap.add_argument("--threads", type=int, help="threads for `vjsearch index` (default: all cores)")
    args = ap.parse_args()
    if args.threads is not None and not 1 <= args.threads <= 1024:
        sys.exit(f"error: --threads {args.threads}: expected 1…1024")
    if not (args.vjsearch.is_file() and os.access(args.vjsearch, os.X_OK)):
        sys.exit(f"error: {args.vjsearch}: no vjsearch binary; run `swift build -c release` first (or pass --vjsearch)")
    bundles = [resolve_bundle(b) for b in (args.bundle or [Path("Models/vljepa-mini"), Path("Models/objects")])]

    manifest = make_all(args.work)
    labels = load_labels(args.labels, manifest)
    results, failed = {}, []
    for bundle in bundles:
        if not ((bundle / "config.json").is_file() and (bundle / "model.safetensors").is_file()):
            print(f"note: {bundle}: no bundle there (config.json and model.safetensors), skipped", file=sys.stderr)
            continue
        rows = run_bundle(bundle, args, labels, args.work / "videos")
        if rows is None:
            failed.append(bundle.name)
        else:
            results[bundle.name] = rows
    if not results:
        sys.exit("error: no bundle was evaluated")

    names = list(results)
    head = f"{'query':<56} {'video':<17}" + "".join(f" {n[:14]:>14}" for n in names)
    print(head)
    print(f"{'':<56} {'':<17}" + "".join(f" {'rank':>7} {'IoU':>6}" for _ in names))
    for i, lab in enumerate(labels):
        cells = ""
        for n in names:
            r = results[n][i]
            cells += f" {str(r['rank']) if r['rank'] else '-':>7} {r['iou']:>6.2f}"
        mark = "" if lab.get("kind") == "imagenet" else "*"
        print(f"{(lab['query'] + mark)[:56]:<56} {lab['video']:<17}{cells}")
    print(f"* beyond ImageNet's classes (people, actions, scenes, art); {len(manifest)} videos, {len(labels)} queries")
    for n in names:
        for kind in ("imagenet", "beyond"):
            sub = [r for r in results[n] if (r.get("kind") == "imagenet") == (kind == "imagenet")]
            if sub:
                m = metrics(sub)
                print(f"{n} {kind} ({m['n']}): r1={m['r1']:.3f} r5={m['r5']:.3f} span_iou50={m['span_iou50']:.3f}")
    for n in names:
        c = shuffled(results[n])
        print(f"{n} shuffled-query control: r1={c['r1']:.3f} r5={c['r5']:.3f} span_iou50={c['span_iou50']:.3f}")
    for n in names:
        m = metrics(results[n])
        print(f"RESULT bundle={n} real_r1={m['r1']:.3f} real_r5={m['r5']:.3f} real_span_iou50={m['span_iou50']:.3f}")
    if failed:
        sys.exit(f"error: failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
