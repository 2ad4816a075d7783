#!/usr/bin/env python3
"""Stage 1: V-JEPA self-supervised pretraining of the small X-encoder on the synthetic world's videos.

Masked tubes: a few spatial blocks, masked through all time, form the target; the context encoder sees only
the remaining tokens (at their original 3D RoPE positions). The V-JEPA predictor fills mask tokens at the
target positions and regresses the EMA target encoder's outputs with an L1 loss in latent space
(V-JEPA 2's recipe, in miniature). Resumable: it saves a checkpoint every `--save-every` steps.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import ClipSpec, FrameCache  # noqa: E402
from model import XEncoder  # noqa: E402


def tube_mask(grid_t: int, grid: int, rng: np.random.Generator, blocks: int, scale: tuple[float, float]):
    """Token indices (context, target) for a mask of `blocks` random spatial rectangles through all time."""
    m = np.zeros((grid, grid), dtype=bool)
    for _ in range(blocks):
        area = rng.uniform(*scale) * grid * grid
        aspect = math.exp(rng.uniform(math.log(0.75), math.log(1.5)))
        h = int(round(min(grid, max(1, math.sqrt(area * aspect)))))
        w = int(round(min(grid, max(1, math.sqrt(area / aspect)))))
        y, x = rng.integers(0, grid - h + 1), rng.integers(0, grid - w + 1)
        m[y:y + h, x:x + w] = True
    full = np.broadcast_to(m, (grid_t, grid, grid)).reshape(-1)
    return np.flatnonzero(~full), np.flatnonzero(full)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--synth", type=Path, required=True, help="folder written by Tools/synth/generate.py")
    ap.add_argument("--work", type=Path, required=True, help="cache and checkpoint folder")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = json.loads(args.config.read_text())
    spec = ClipSpec.from_config(cfg["clip"])
    data = FrameCache(args.synth, "train", spec, cfg["train"]["cache_fps"], args.work / "cache")
    vc = cfg["vision"]
    grid, grid_t = vc["crop_size"] // vc["patch_size"], vc["frames_per_clip"] // vc["tubelet_size"]

    model = XEncoder(vc)
    target = copy.deepcopy(model).eval()
    for p in target.parameters():
        p.requires_grad_(False)
    params = list(model.model.encoder.parameters()) + list(model.model.predictor.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.04, betas=(0.9, 0.99))
    ckpt_path = args.work / "stage1.pt"
    step = 0
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"]), target.load_state_dict(ck["target"]), opt.load_state_dict(ck["opt"])
        step = ck["step"]
        print(f"stage1: resuming at step {step}", file=sys.stderr)
    rng = np.random.default_rng(args.seed + step)
    warmup = max(args.steps // 10, 1)
    t0, first = time.time(), step
    while step < args.steps:
        lr = args.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        reels = rng.integers(0, len(data.reels), args.batch)
        starts = [rng.uniform(0, max(data.duration(r) - spec.window, 0)) for r in reels]
        video = data.normalise(np.stack([data.clip_u8(r, s) for r, s in zip(reels, starts)]))
        ctx, tgt = tube_mask(grid_t, grid, rng, blocks=int(rng.integers(2, 5)), scale=(0.1, 0.25))
        ctx_t = torch.from_numpy(ctx).unsqueeze(0).expand(args.batch, -1)
        tgt_t = torch.from_numpy(tgt).unsqueeze(0).expand(args.batch, -1)
        with torch.no_grad():
            h = target(video)
            h = torch.nn.functional.layer_norm(h, h.shape[-1:])
            h_tgt = torch.gather(h, 1, tgt_t.unsqueeze(-1).expand(-1, -1, h.size(-1)))
        z = model.encode_context(video, ctx_t)
        # The predictor gathers context tokens by index itself, so hand it a full-length tensor.
        full = torch.zeros(args.batch, grid_t * grid * grid, z.size(-1))
        full = full.scatter(1, ctx_t.unsqueeze(-1).expand(-1, -1, z.size(-1)), z)
        pred = model.model.predictor(full, context_mask=[ctx_t], target_mask=[tgt_t]).last_hidden_state
        loss = (pred - h_tgt).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        momentum = 0.996 + (1.0 - 0.996) * step / args.steps
        with torch.no_grad():
            for pt, pm in zip(target.parameters(), model.parameters()):
                pt.mul_(momentum).add_(pm.detach(), alpha=1 - momentum)
        step += 1
        if step % 10 == 0:
            rate = (step - first) / max(time.time() - t0, 1e-6)
            print(f"stage1 step {step}/{args.steps} loss {loss.item():.4f} lr {lr:.2e} ({rate:.2f} steps/s)",
                  file=sys.stderr, flush=True)
        if step % args.save_every == 0 or step == args.steps:
            torch.save({"model": model.state_dict(), "target": target.state_dict(), "opt": opt.state_dict(),
                        "step": step}, ckpt_path.with_suffix(".tmp"))
            ckpt_path.with_suffix(".tmp").replace(ckpt_path)
    # The EMA target encoder is the one kept (V-JEPA evaluates the target encoder).
    torch.save(target.state_dict(), args.work / "x_encoder.pt")


if __name__ == "__main__":
    main()
