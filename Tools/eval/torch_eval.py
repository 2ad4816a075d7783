#!/usr/bin/env python3
"""Held-out evaluation of a stage-2 checkpoint in PyTorch (the training-side view; `Tools/eval/run` is the
official one, through the Swift engine and the Media pipeline).

    Tools/eval/torch_eval.py --config Tools/train/mini.json --synth DATA/synth --work DATA/work --variant vljepa

Pool: the first `--pool` events of the test reels, one clip each (the window centred in the event). Queries:
one held-out-template caption per pool clip. Moments: every event of the first `--long` test reels, localised
in its own video from windows every `stride` seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tools/
import tools_venv  # noqa: E402

tools_venv.ensure()  # torch lives in Tools/.venv

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import ClipSpec, FrameCache  # noqa: E402
from metrics import MomentRule, clips_per_event, iou, moment_from_scores, recall_at_k, window_starts  # noqa: E402
from model import XEncoder  # noqa: E402
from stage2 import build, encode_text, minilm_dir  # noqa: E402


class Embedder:
    """Clip and text embeddings (L2-normalised) of one trained variant."""

    def __init__(self, cfg: dict, work: Path, variant: str):
        self.cfg = cfg
        ck = torch.load(work / f"stage2_{variant}.pt", weights_only=False)
        self.x = XEncoder(cfg["vision"])
        self.x.load_state_dict(ck["x"] if ck.get("x") is not None else torch.load(work / "x_encoder.pt"))
        self.video, self.y = build(cfg, variant)
        self.video.load_state_dict(ck["video"])
        self.y.load_state_dict(ck["y"])
        for m in (self.x, self.video, self.y):
            m.eval()
        self.tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self.max_len = cfg["predictor"]["max_text_tokens"]
        self.prompt = encode_text(self.tok, [cfg["retrieval_prompt"]], self.max_len)

    @torch.no_grad()
    def clips(self, video: torch.Tensor) -> torch.Tensor:
        out = []
        for k in range(0, len(video), 64):
            v = video[k:k + 64]
            ids, mask = self.prompt
            out.append(F.normalize(self.video(self.x(v), ids.expand(len(v), -1), mask.expand(len(v), -1)), dim=-1))
        return torch.cat(out)

    @torch.no_grad()
    def texts(self, texts: list[str]) -> torch.Tensor:
        ids, mask = encode_text(self.tok, texts, self.max_len)
        return F.normalize(self.y(ids, mask), dim=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--synth", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--variant", default="vljepa")
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--long", type=int, default=60)
    ap.add_argument("--keep", type=float, default=0.3, help="moment rule: see metrics.MomentRule")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.loads(args.config.read_text())
    spec = ClipSpec.from_config(cfg["clip"])
    data = FrameCache(args.synth, args.split, spec, cfg["train"]["cache_fps"], args.work / "cache")
    emb = Embedder(cfg, args.work, args.variant)

    pool = data.events[: args.pool]
    if len(pool) < args.pool:
        sys.exit(f"error: {args.synth}/{args.split}.jsonl has {len(pool)} events, need {args.pool}")
    clips = data.normalise(np.stack([data.clip_u8(e.reel, data.event_window_start(e, None)) for e in pool]))
    cv = emb.clips(clips)
    keys = [e.key for e in pool]
    tv = emb.texts([e.captions[0] for e in pool])
    rec = recall_at_k((tv @ cv.t()).numpy(), keys, keys)

    rule, ious = MomentRule(args.keep), []
    for reel in range(min(args.long, len(data.reels))):
        dur = data.reels[reel]["duration"]
        starts = window_starts(dur, spec.window, cfg["clip"]["stride"])
        wv = emb.clips(data.normalise(np.stack([data.clip_u8(reel, s) for s in starts])))
        evs = data.reels[reel]["events"]
        qv = emb.texts([e["captions"][0] for e in evs])
        for e, q in zip(evs, qv):
            s, t, _ = moment_from_scores(starts, spec.window, (wv @ q).numpy(), rule)
            ious.append(max(iou((s, t), (o["start"], o["end"])) for o in evs if o["key"] == e["key"]))
    ious = np.array(ious)
    result = {"variant": args.variant, **rec, "moment_r1_iou50": float((ious >= 0.5).mean()),
              "moment_miou": float(ious.mean()), "moment_queries": len(ious),
              "clips_per_event": clips_per_event(keys)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
