#!/usr/bin/env python3
"""Render the synthetic world into H.264 mp4 "reels" with a JSONL manifest of timed events.

A reel is one video that chains several events, each with exact start and end times, captions and one
question–answer pair of each type that applies (`qa.py`): training data for vljepa-mini, the held-out clip pool
(one clip per event) and the long videos for moment retrieval.

    Tools/synth/generate.py --out data/synth --split train --reels 1200
    Tools/synth/generate.py --out data/synth --split test --reels 120 --events 7

Splits are disjoint by seed: train reels use seeds 0…, val 1,000,000…, test 2,000,000…, and the few reels bundled
under Samples/synth (`samples`) 3,000,000…. Training captions use the training paraphrase templates; the other
splits' captions (the evaluation and demo queries) use only held-out templates.
Training never contains a held-out colour–object–motion composition.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qa  # noqa: E402
import world  # noqa: E402

SPLIT_SEED_BASE = {"train": 0, "val": 1_000_000, "test": 2_000_000, "samples": 3_000_000}


def encode_mp4(frames: np.ndarray, fps: int, path: Path) -> None:
    """Writes [N, H, W, 3] uint8 RGB frames as H.264 (yuv420p, B-frames on, keyframe every 2 s)."""
    n, h, w, _ = frames.shape
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
           "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
           "-g", str(2 * fps), "-threads", "1", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)


def make_reel(split: str, index: int, events: int, size: int, fps: int, out_dir: Path) -> dict:
    seed = SPLIT_SEED_BASE[split] + index
    rng = random.Random(seed)
    qa_rng = random.Random(f"qa-{seed}")
    reel_scene = world.random_scene(rng, size)
    chunks, records, t = [], [], 0.0
    for _ in range(events):
        gap = rng.choice([0.0, 0.0, 0.5, 1.0])
        if gap > 0:
            nf = int(round(gap * fps))
            chunks.append(np.broadcast_to(reel_scene.background_image().astype(np.uint8), (nf, size, size, 3)))
            t += nf / fps
        ev = world.sample_event(rng, split)
        scene = world.random_scene(rng, size)
        scene.background, scene.bg_colour, scene.bg_seed = reel_scene.background, reel_scene.bg_colour, reel_scene.bg_seed
        dur = rng.uniform(2.5, 5.0)
        nf = int(round(dur * fps))
        chunks.append(world.render_event(ev, scene, nf))
        start, end = t, t + nf / fps
        t = end
        templates = "train" if split == "train" else "heldout"
        caps = sorted({world.caption(ev, rng, templates) for _ in range(6)})
        # Questions draw from their own generator, so that adding them left every reel's pixels and captions as they were.
        questions = [q.to_json() for q in qa.questions(ev.to_json(), qa_rng, templates)]
        records.append({"start": round(start, 4), "end": round(end, 4), "key": ev.key(), "event": ev.to_json(),
                        "captions": caps, "qa": questions})
    name = f"{split}_{index:06d}.mp4"
    encode_mp4(np.concatenate(chunks), fps, out_dir / name)
    return {"video": name, "split": split, "seed": seed, "fps": fps, "size": size, "duration": round(t, 4),
            "events": records}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output folder (reels and <split>.jsonl go here)")
    ap.add_argument("--split", required=True, choices=sorted(SPLIT_SEED_BASE))
    ap.add_argument("--reels", type=int, required=True, help="number of reels to render")
    ap.add_argument("--first", type=int, default=0, help="index of the first reel (to extend a split)")
    ap.add_argument("--events", type=int, default=6, help="events per reel")
    ap.add_argument("--size", type=int, default=128, help="frame size in pixels (square)")
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    manifest = args.out / f"{args.split}.jsonl"
    done = set()
    if manifest.exists():  # resumable: reels already in the manifest are kept
        done = {json.loads(line)["video"] for line in manifest.read_text().splitlines() if line.strip()}
    todo = [i for i in range(args.first, args.first + args.reels) if f"{args.split}_{i:06d}.mp4" not in done]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, manifest.open("a") as f:
        futures = [pool.submit(make_reel, args.split, i, args.events, args.size, args.fps, args.out) for i in todo]
        for k, fut in enumerate(futures, 1):
            f.write(json.dumps(fut.result()) + "\n")
            f.flush()
            if sys.stderr.isatty():
                print(f"\r{args.split}: {k}/{len(todo)} reels", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)


if __name__ == "__main__":
    main()
