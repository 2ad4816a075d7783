# Run through Tools/eval/run, which starts it in Tools/.venv (made by Tools/setup-venv.sh).
"""Held-out evaluation of a bundle through the Swift engine and the Media pipeline, checked against PyTorch.

    Tools/setup-venv.sh && make release && Tools/eval/run   # a fresh clone: the Swift metrics of Models/vljepa-mini
    Tools/eval/run --work .build/vljepa-mini --write-card   # after Tools/train/run: PyTorch rows too, MODEL_CARD.md

The held-out test reels come from WORK/synth, where `Tools/train/run` renders them; those this run needs and does not
find there are rendered into it first by `Tools/synth/generate.py`, with the arguments `Tools/train/run` gives it
(split test: seeds from 2,000,000, held-out templates, 7 events a reel), so the metrics are those of the full split.

1. `vjsearch model embed-video` embeds every clip window of each held-out test reel, decoding the mp4 with
   the Media pipeline exactly as `vjsearch index` does; `vjsearch model embed-texts` embeds the queries.
2. Text → clip: a pool of the first `--pool` test events, one clip each (the window that overlaps the event
   most); one query per pool clip from the held-out paraphrase templates; R@1/5/10, a hit being any clip whose
   event matches the query's attribute for attribute.
3. Moments: every event of the first `--long` test reels, localised in its own video with the same moment
   rule `vjsearch query` uses; R@1 at IoU ≥ 0.5 and mean IoU.
4. The same metrics from the PyTorch checkpoint (frames decoded by the ffmpeg CLI, same windows), and
   parity: both implementations on identical input tensors (dumped by Swift), max |difference|.
5. The paper's other tasks and the everyday-word queries (`Tools/eval/tasks.py`), through `vjsearch classify`-style
   ranking of the Swift vectors, `vjsearch ask`, `vjsearch chapters` and `vjsearch query` on a library of the long
   reels: classification top-1, VQA accuracy against the majority answer and the contrastive baseline, chapter
   boundary F1 and label accuracy against uniform chapters, moment R@1 inside the right video and across the
   library, synonym R@5.
Step 4 and the baseline (evaluated the same way in PyTorch) need stage-2 checkpoints in WORK: stage2_vljepa.pt,
stage2_contrastive.pt, …; without them they are reported as not run. The table goes to WORK/metrics.md, and with
`--write-card` into the bundle's MODEL_CARD.md as well (from `Tools/train/MODEL_CARD.template.md`).
The last line is `RESULT cls_top1=… vqa_acc=… vqa_majority=… chapters_f1=… chapters_uniform_f1=… r5=… synonym_r5=…
moment_r1_iou50=… moment_library_r1_iou50=…` followed by r1, r10, the mean IoU, the baseline and parity (`not-run`
without their checkpoints).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tools/
import tools_venv  # noqa: E402

tools_venv.ensure()  # torch lives in Tools/.venv

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tools/train"))
sys.path.insert(0, str(ROOT / "Tools/eval"))
from data import ClipSpec, FrameCache  # noqa: E402
from metrics import MomentRule, clips_per_event, iou, moment_from_scores, recall_at_k, window_starts  # noqa: E402
from torch_eval import Embedder  # noqa: E402
from export import write_card  # noqa: E402
import tasks  # noqa: E402
import qa  # noqa: E402  (Tools/synth, which tasks puts on the path)

# The held-out split as Tools/train/run renders it (TEST_REELS, --events 7). Rendering stops at its size, so that a run
# asking for more evaluates on the same reels as one in a training folder.
TEST_REELS, TEST_EVENTS = 150, 7
NOT_RUN = "not run (no checkpoints)"


def run_json_lines(cmd: list[str], stdin: str | None = None) -> list[dict]:
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: {' '.join(cmd[:4])}…: {out.stderr.strip()}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def best_window(windows: list[dict], start: float, end: float) -> int:
    overlap = [max(0.0, min(w["end"], end) - max(w["start"], start)) for w in windows]
    return int(np.argmax(overlap))


def test_manifest(synth: Path) -> list[dict]:
    """The test reels in WORK/synth from the first (seed 2,000,000) up to the first one missing: the selections take
    reels in order, so a gap would shift them. Lines whose mp4 is gone are dropped from the manifest, so that the
    generator, which skips the reels it lists, renders them again."""
    path = synth / "test.jsonl"
    if not path.exists():
        return []
    lines = [x for x in path.read_text().splitlines() if x.strip()]
    kept = [x for x in lines if (synth / json.loads(x)["video"]).exists()]
    if len(kept) < len(lines):
        path.write_text("".join(x + "\n" for x in kept))
    reels = sorted(map(json.loads, kept), key=lambda r: r["video"])
    n = 0
    while n < len(reels) and reels[n]["video"] == f"test_{n:06d}.mp4":
        n += 1
    return reels[:n]


def reels_short(reels: list[dict], pool: int, long: int, per_type: int) -> int:
    """A lower bound on the further test reels the run needs: for the pool's events, the long videos, and the
    questions (at most one per event) that the reels so far leave unasked."""
    events = sum(len(r["events"]) for r in reels)
    asked = Counter(it["type"] for it in tasks.vqa_items(reels, per_type))
    unasked = sum(per_type - asked[t] for t in qa.TYPES)
    return max(math.ceil((pool - events) / TEST_EVENTS), long - len(reels), math.ceil(unasked / TEST_EVENTS), 0)


def ensure_test_reels(synth: Path, args: argparse.Namespace) -> list[dict]:
    """The test reels, after rendering those the run needs that WORK/synth lacks (a fresh clone has none). Each is
    rendered from its seed as in the full split, and the selections (pool, long videos, questions) take reels in
    order, so a run on this prefix measures what it would on the full split."""
    while True:
        reels = test_manifest(synth)
        want = min(TEST_REELS, len(reels) + reels_short(reels, args.pool, args.long, args.vqa_per_type))
        if want <= len(reels):
            return reels
        print(f"rendering the held-out test reels {len(reels)}–{want - 1} that {synth} lacks (seeds "
              f"{2_000_000 + len(reels):,}–{2_000_000 + want - 1:,}, {TEST_EVENTS} events each)", file=sys.stderr)
        # --first 0: the generator renders every index below `want` that the manifest lacks, filling any gap.
        subprocess.run([sys.executable, str(ROOT / "Tools/synth/generate.py"), "--out", str(synth), "--split", "test",
                        "--first", "0", "--reels", str(want), "--events", str(TEST_EVENTS),
                        "--jobs", str(args.threads)], check=True)


def evaluate(window_vecs, text_vec, reels, pool, pool_windows, long_reels, keep):
    """Metrics from per-reel window vectors [n_i, d] and query vectors keyed by query text."""
    clip_mat = np.stack([window_vecs[r][w] for r, w in pool_windows])
    q_mat = np.stack([text_vec[e["captions"][0]] for _, e in pool])  # one query per pool clip
    keys = [e["key"] for _, e in pool]
    rec = recall_at_k(q_mat @ clip_mat.T, keys, keys)
    rule, ious = MomentRule(keep), []
    for r in long_reels:
        starts = np.array([w["start"] for w in reels[r]["windows"]])
        window = reels[r]["windows"][0]["end"] - reels[r]["windows"][0]["start"]
        evs = reels[r]["events"]
        for e in evs:
            scores = window_vecs[r] @ text_vec[e["captions"][0]]
            s, t, _ = moment_from_scores(starts, window, scores, rule)
            ious.append(max(iou((s, t), (o["start"], o["end"])) for o in evs if o["key"] == e["key"]))
    ious = np.array(ious)
    return {**rec, "moment_r1_iou50": float((ious >= 0.5).mean()), "moment_miou": float(ious.mean()),
            "moment_queries": int(len(ious))}


VARIANTS = {
    "torch_vljepa": "VL-JEPA, same checkpoint in PyTorch",
    "torch_contrastive": "CLIP-style contrastive baseline (mean-pooled X-encoder, linear head)",
    "torch_frozen_y": "ablation: Y-encoder frozen",
    "torch_unfrozen_x": "ablation: X-encoder fine-tuned in stage 2",
}


def measured(m: dict, key: str, spec: str, missing: str = NOT_RUN) -> str:
    """m[key] formatted by `spec`, or `missing` where PyTorch had no checkpoint to measure it with."""
    return format(m[key], spec) if key in m else missing


def metrics_table(results: dict, pool: int, long_reels: int) -> str:
    """The model card's metrics section (Markdown), from this run's results."""
    def row(name, m):
        return (f"| {name} | {m['r1']:.3f} | {m['r5']:.3f} | {m['r10']:.3f} | {m['synonym_r5']:.3f} "
                f"| {m['moment_r1_iou50']:.3f} | {m['moment_miou']:.3f} |")
    s = results["swift"]
    lines = [
        "Measured by `Tools/eval/run` on held-out test reels (seeds from 2,000,000; queries from held-out paraphrase",
        f"templates only). Text → clip: a pool of {pool:,} clips; moments: {s['moment_queries']} queries on "
        f"{long_reels} long videos. VL-JEPA's first row goes through the Swift engine and the Media pipeline "
        "(decoding the mp4 files; its moments are `vjsearch query`'s top hit in the right video); the others are "
        "PyTorch on the same windows, with the same moment rule in Python. Synonym R@5: the same pool, one query per "
        "clip in everyday words no training caption contains (`Tools/synth/paraphrase.py`, held-out lexicon: "
        "\"a scarlet circle\", \"a cobalt cube gets hit by …\").",
        "",
        "| model | R@1 | R@5 | R@10 | synonym R@5 | moment R@1 (IoU ≥ 0.5) | moment mIoU |",
        "|---|---|---|---|---|---|---|",
        row("**vljepa-mini (Swift)**", s),
    ]
    steps = results.get("torch_vljepa", {}).get("steps")
    for key, label in VARIANTS.items():
        if key in results:
            own = results[key].get("steps")
            short = own is not None and steps is not None and own < steps
            lines.append(row(label + (f" — **{own} of {steps} steps**" if short else ""), results[key]))
    missing = [label for key, label in VARIANTS.items() if key not in results]
    base = results.get("torch_contrastive", {})
    vqa_row = ["colour", "shape", "motion", "count", "relation", "yesno"]
    lines += [
        "", "### Tasks", "",
        "| task | vljepa-mini (Swift) | reference point |", "|---|---|---|",
        f"| classification top-1 over the pool's {s['cls_labels']} distinct events (labels: canonical captions) "
        f"| {s['cls_top1']:.3f} | chance {1 / s['cls_labels']:.3f} |",
        f"| … colour / shape / motion or relation / count right | {s['cls_colour']:.3f} / {s['cls_shape']:.3f} / "
        f"{s['cls_action']:.3f} / {s['cls_count']:.3f} | |",
        f"| VQA (`vjsearch ask`), all {sum(s[f'vqa_{t}_n'] for t in vqa_row)} questions | {s['vqa_acc']:.3f} "
        f"| majority answer {s['vqa_majority']:.3f}; contrastive baseline {measured(base, 'vqa_acc', '.3f')} |",
    ]
    for t in vqa_row:
        lines.append(f"| … {t} ({s[f'vqa_{t}_n']}) | {s[f'vqa_{t}']:.3f} | majority {s[f'vqa_{t}_majority']:.3f}; "
                     f"contrastive {measured(base, f'vqa_{t}', '.3f')} |")
    lines += [
        f"| chapters (`--auto`): boundary F1 within ±0.5 s | {s['chapters_f1']:.3f} "
        f"| uniform chapters, same number: {s['chapters_uniform_f1']:.3f} |",
        f"| chapters: label accuracy (event middles) | {s['chapters_label_acc']:.3f} "
        f"| uniform: {s['chapters_uniform_label_acc']:.3f} |",
        f"| moment R@1 at IoU 0.5 across the library of {long_reels} videos | {s['moment_library_r1_iou50']:.3f} "
        f"| inside the right video: {s['moment_r1_iou50']:.3f} |",
        f"| top-1 moment length, median | {s['moment_median_s']:.1f} s | events: {s['event_median_s']:.1f} s; "
        f"{s['moment_multi_event']:.0%} of top moments overlap two or more events |",
    ]
    lines += ["", "Targets: R@5 ≥ 0.95, moment R@1 ≥ 0.9 (right video) and ≥ 0.8 (library), synonym R@5 ≥ 0.9, "
              "classification ≥ 0.8, VQA ≥ 0.75 with each type ≥ 2× its majority, chapter F1 ≥ 0.7 and above uniform.",
              f"Swift–PyTorch max abs difference on identical input: {measured(results, 'parity_max_abs', '.1e')} "
              "(target ≤ 1e-3)."]
    spread = ", ".join(f"{count} by {n}" for n, count in results["clips_per_event"].items())
    lines += ["", f"Pool make-up (events shown by n clips): {spread}."]
    if missing:
        lines += ["", "Not run (no checkpoints in the work folder): " + "; ".join(missing) + "."]
    return "\n".join(lines) + "\n"


def result_line(results: dict) -> str:
    """The last line: Swift's metrics, then the PyTorch baseline's and parity, `not-run` where no checkpoint was."""
    s, base = results["swift"], results.get("torch_contrastive", {})
    fields = [f"{k}={s[k]:.3f}" for k in ["cls_top1", "vqa_acc", "vqa_majority", "chapters_f1", "chapters_uniform_f1",
                                          "r5", "synonym_r5", "moment_r1_iou50", "moment_library_r1_iou50", "r1",
                                          "r10", "moment_miou"]]
    torch_side = {"baseline_r1": (base, "r1", ".3f"), "baseline_vqa_acc": (base, "vqa_acc", ".3f"),
                  "parity_max_abs": (results, "parity_max_abs", ".2e")}
    fields += [f"{name}={measured(m, key, spec, 'not-run')}" for name, (m, key, spec) in torch_side.items()]
    not_run = any(key not in m for m, key, _ in torch_side.values())
    return "RESULT " + " ".join(fields) + (" (no checkpoints)" if not_run else "")


def main() -> None:
    ap = argparse.ArgumentParser(prog="Tools/eval/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=ROOT / "Models/vljepa-mini")
    ap.add_argument("--work", type=Path, default=ROOT / ".build/vljepa-mini",
                    help="training folder (Tools/train/run): synth/ with the test reels, rendered when missing; "
                         "stage-2 checkpoints for the PyTorch rows, if any; caches")
    ap.add_argument("--config", type=Path, default=ROOT / "Tools/train/mini.json")
    ap.add_argument("--vjsearch", type=Path, default=ROOT / ".build/release/vjsearch")
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--long", type=int, default=60)
    ap.add_argument("--keep", type=float, default=0.3, help="moment rule (the default `vjsearch query` uses)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vqa-per-type", type=int, default=60, help="held-out questions per question type (60: the model card's 360)")
    ap.add_argument("--write-card", action="store_true",
                    help="also write the bundle's MODEL_CARD.md with this run's table (else WORK/metrics.md only)")
    args = ap.parse_args()
    for name in ("pool", "long", "threads", "vqa_per_type"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    cfg = json.loads(args.config.read_text())
    synth = args.work / "synth"
    reels = ensure_test_reels(synth, args)
    pool = [(i, e) for i, r in enumerate(reels) for e in r["events"]][: args.pool]
    if len(pool) < args.pool:
        sys.exit(f"error: {synth}/test.jsonl has {len(pool)} events, the pool needs {args.pool}")
    needed = sorted({i for i, _ in pool} | set(range(min(args.long, len(reels)))))

    # 1. Swift: window vectors per reel (cached), query vectors.
    model_id = json.loads((args.bundle / "config.json").read_text())["model_id"]
    cache = args.work / "eval" / f"{args.bundle.name}-{model_id}"  # a retrained bundle never reads old vectors
    cache.mkdir(parents=True, exist_ok=True)
    swift_vecs = {}
    for k, r in enumerate(needed):
        path = cache / (reels[r]["video"] + ".jsonl")
        if not path.exists():
            lines = run_json_lines([str(args.vjsearch), "model", "embed-video", str(args.bundle),
                                    str(synth / reels[r]["video"]), "--threads", str(args.threads)])
            path.with_suffix(".tmp").write_text("\n".join(json.dumps(x) for x in lines))
            path.with_suffix(".tmp").replace(path)
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        reels[r]["windows"] = [{"start": x["start"], "end": x["end"]} for x in lines]
        swift_vecs[r] = np.array([x["vector"] for x in lines], dtype=np.float32)
        if sys.stderr.isatty():
            print(f"\rswift: {k + 1}/{len(needed)} reels", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    pool_windows = [(r, best_window(reels[r]["windows"], e["start"], e["end"])) for r, e in pool]
    synonym_queries = tasks.synonym_queries([e for _, e in pool])
    labels = sorted({tasks.label(e["event"]) for _, e in pool})
    queries = sorted({e["captions"][0] for _, e in pool} | {e["captions"][0] for r in range(min(args.long, len(reels)))
                                                            for e in reels[r]["events"]})
    vocab = [t for t in (args.bundle / "vocabulary.txt").read_text().splitlines() if t.strip()]
    swift_text = {x["text"]: np.array(x["vector"], dtype=np.float32) for x in run_json_lines(
        [str(args.vjsearch), "model", "embed-texts", str(args.bundle), "--threads", str(args.threads)],
        stdin="\n".join(sorted(set(queries) | set(synonym_queries) | set(labels) | set(vocab))) + "\n")}
    long_reels = list(range(min(args.long, len(reels))))
    swift = evaluate(swift_vecs, swift_text, reels, pool, pool_windows, long_reels, args.keep)
    swift["python_moment_r1_iou50"] = swift.pop("moment_r1_iou50")  # the mirror; `vjsearch query`'s own is below
    pool_clips = np.stack([swift_vecs[r][w] for r, w in pool_windows])
    pool_events = [e for _, e in pool]
    swift.update(tasks.classification(pool_clips, [e["event"] for e in pool_events], swift_text))
    swift.update(tasks.synonym_recall(pool_clips, pool_events, synonym_queries, swift_text))
    # One library per --long: `vjsearch index` only adds, and the library-wide moment search must see exactly the
    # first --long reels, whatever an earlier run with another --long left in its library.
    library = cache / f"library-{len(long_reels)}"
    tasks.index_library(args.vjsearch, args.bundle, library, [synth / reels[r]["video"] for r in long_reels])
    swift.update(tasks.moments(args.vjsearch, library, synth, [reels[r] for r in long_reels], args.threads))
    swift.update(tasks.chapters(args.vjsearch, args.bundle, library, synth, [reels[r] for r in long_reels],
                                [swift_vecs[r] for r in long_reels], vocab, np.stack([swift_text[t] for t in vocab])))
    vqa_items = tasks.vqa_items(reels, args.vqa_per_type)
    vqa_answers = tasks.vqa_swift(args.vjsearch, args.bundle, synth, vqa_items, args.threads)
    swift.update(tasks.vqa_scores(vqa_items, vqa_answers))
    print(f"swift: classification, synonyms, moments, chapters, {len(vqa_items)} questions done", file=sys.stderr)

    # 2. PyTorch on the same windows, its own decode: only for the checkpoints a training folder holds.
    results = {"swift": swift, "clips_per_event": clips_per_event([e["key"] for _, e in pool])}
    variants = [v for v in ["vljepa", "contrastive", "frozen_y", "unfrozen_x"]
                if (args.work / f"stage2_{v}.pt").exists()]
    if variants:
        spec = ClipSpec.from_config(cfg["clip"])
        frames = FrameCache(synth, "test", spec, cfg["train"]["cache_fps"], args.work / "cache")
    else:
        print(f"note: no stage-2 checkpoints in {args.work}: PyTorch rows, baseline and parity not run",
              file=sys.stderr)
    for variant in variants:
        emb = Embedder(cfg, args.work, variant)
        vecs = {r: emb.clips(frames.normalise(np.stack([frames.clip_u8(r, w["start"]) for w in reels[r]["windows"]])))
                .numpy() for r in needed}
        tv = emb.texts(queries).numpy()
        text = dict(zip(queries, tv))
        results[f"torch_{variant}"] = evaluate(vecs, text, reels, pool, pool_windows, long_reels, args.keep)
        syn = emb.texts(synonym_queries).numpy()
        results[f"torch_{variant}"].update(tasks.synonym_recall(
            np.stack([vecs[r][w] for r, w in pool_windows]), pool_events, synonym_queries, dict(zip(synonym_queries, syn))))
        if variant == "contrastive":
            by_video = {x["video"]: i for i, x in enumerate(reels)}
            windows = {r: reels[r]["windows"] for r in range(len(reels)) if "windows" in reels[r]}
            missing = sorted({by_video[it["video"]] for it in vqa_items} - set(windows))
            for r in missing:  # reels asked about but not embedded by Swift: their windows as the Media pipeline cuts them
                reels[r]["windows"] = [{"start": float(s), "end": float(s) + spec.window} for s in window_starts(
                    reels[r]["duration"], spec.window, cfg["clip"]["stride"])]
                windows[r] = reels[r]["windows"]
            answers = tasks.vqa_baseline(emb, frames, by_video, vqa_items, windows)
            results["torch_contrastive"].update(tasks.vqa_scores(vqa_items, answers))
        budget = torch.load(args.work / f"stage2_{variant}.pt", map_location="cpu", weights_only=False)
        results[f"torch_{variant}"]["steps"] = budget.get("steps")
        if variant == "vljepa":
            # Parity on identical input: the clips Swift fed its model.
            dump = cache / "parity_input.f32"
            subprocess.run([str(args.vjsearch), "model", "embed-video", str(args.bundle), str(synth / reels[0]["video"]),
                            "--dump-input", str(dump), "--dump-limit", "8"], check=True, capture_output=True)
            clips = torch.from_numpy(np.fromfile(dump, dtype=np.float32).reshape(-1, spec.frames, 3, spec.size, spec.size))
            ours = swift_vecs[0][: len(clips)]
            theirs = emb.clips(clips).numpy()
            text_diff = np.abs(np.stack([swift_text[q] for q in queries]) - tv).max()
            results["parity_max_abs"] = float(max(np.abs(ours - theirs).max(), text_diff))
    print(json.dumps(results, indent=2))
    (args.work / "metrics.md").write_text(metrics_table(results, len(pool), len(long_reels)))
    print(f"wrote {args.work / 'metrics.md'}", file=sys.stderr)
    if args.write_card:
        write_card(args.bundle, model_id, args.work)
        print(f"wrote {args.bundle / 'MODEL_CARD.md'}", file=sys.stderr)
    print(result_line(results))


if __name__ == "__main__":
    main()
