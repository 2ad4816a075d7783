"""Encoder benchmark: our Swift engine against PyTorch CPU eager on the same weights and thread count.

Models: a ViT-S-size `vjepa2` X-encoder (hidden 384, 12 layers, 6 heads, 16 frames at 224 px → 8×14×14 tokens) and a
MiniLM-size BERT Y-encoder (hidden 384, 6 layers, 12 heads) on 32 queries of 16 tokens, with mean pooling and the
projection head, on random weights; both run in one bundle folder (config.json + model.safetensors) that this script
writes. PyTorch uses transformers' default attention (SDPA) and `torch.set_num_threads(threads)`.
The `efficientnet` X-encoder: EfficientNet-Lite0's real weights (batch norm folded, stored as float16 as the `objects`
bundle stores them) in a second bundle folder, on a batch of 8 random 224 px images; PyTorch runs the reference module
of `Tools/goldens/efficientnet.py` on the same float16-rounded weights.

Usage: encoder.py VJSEARCH_BINARY [--threads N] [--rounds R] [--repeats K] [--models vjepa2,efficientnet]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel, VJEPA2Config, VJEPA2Model

torch.set_grad_enabled(False)

VISION = dict(family="vjepa2", hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4.0,
              patch_size=16, tubelet_size=2, crop_size=224, frames_per_clip=16, in_chans=3, layer_norm_eps=1e-6,
              qkv_bias=True, hidden_act="gelu")
TEXT = dict(family="bert", vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
            intermediate_size=1536, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
            layer_norm_eps=1e-12, pooling="mean", dense=[], max_tokens=512)
PREDICTOR = dict(family="llama", hidden_size=64, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                 head_dim=16, intermediate_size=128, rms_norm_eps=1e-5, vocab_size=128, rope_theta=500000.0,
                 rope_scaling=None, hidden_act="silu", attention_bias=False, mlp_bias=False, final_norm=True,
                 pool="all_non_pad", max_prompt_tokens=64, pad_token_id=0)
SHARED = 384
EFFNET_IMAGES = 8


def load_efficientnet():
    """`Tools/goldens/efficientnet.py`, the PyTorch reference (imported by path: `Tools/` is not a package)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "goldens", "efficientnet.py")
    spec = importlib.util.spec_from_file_location("efficientnet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_efficientnet(directory):
    """An `efficientnet` bundle of EfficientNet-Lite0 (float16 weights) and the PyTorch module on the same weights."""
    e = load_efficientnet()
    weights = {k: v.to(torch.float16).contiguous() for k, v in e.folded(e.load_pth(e.default_pth())).items()}
    save_file(weights, os.path.join(directory, "model.safetensors"))
    stages = [dict(repeats=r, kernel=k, stride=st, expand_ratio=x, out_channels=o) for r, k, st, x, _, o in e.STAGES]
    config = dict(name="bench-efficientnet-lite0", domain="imagenet-objects", shared_dim=TEXT["hidden_size"],
                  clip=dict(frames=EFFNET_IMAGES, fps=1.0, window_seconds=8.0, stride_seconds=8.0, size=224, resize=256,
                            mean=e.MEAN, std=e.STD),
                  vision=dict(family="efficientnet", image_size=224, in_chans=3, stem_channels=e.STEM,
                              head_channels=e.HEAD, num_classes=e.CLASSES, padding="same", stages=stages),
                  concepts=dict(count=e.CLASSES, top_k=10), text=dict(TEXT, projector=False))
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return e.EfficientNetLite0({k: v.float() for k, v in weights.items()}, "same").eval()


def build(directory):
    torch.manual_seed(0)
    vision = VJEPA2Model(VJEPA2Config(**{k: v for k, v in VISION.items() if k != "family"},
                                      pred_hidden_size=64, pred_num_hidden_layers=1, pred_num_attention_heads=4)).eval()
    text = BertModel(BertConfig(**{k: TEXT[k] for k in ["vocab_size", "hidden_size", "num_hidden_layers",
                                                        "num_attention_heads", "intermediate_size", "hidden_act",
                                                        "max_position_embeddings", "type_vocab_size",
                                                        "layer_norm_eps"]}), add_pooling_layer=False).eval()
    llama = LlamaModel(LlamaConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                   head_dim=16, intermediate_size=128, vocab_size=128)).eval()
    projector = torch.nn.Linear(384, SHARED)
    weights = {}
    weights.update({"x_encoder." + k[len("encoder."):]: v for k, v in vision.state_dict().items()
                    if k.startswith("encoder.")})
    weights.update({"predictor." + k: v for k, v in llama.state_dict().items()})
    weights.update({"predictor.vis_proj.weight": torch.randn(64, 384) * 0.02, "predictor.vis_proj.bias": torch.zeros(64),
                    "predictor.out_proj.weight": torch.randn(SHARED, 64) * 0.02, "predictor.out_proj.bias": torch.zeros(SHARED)})
    weights.update({"y_encoder.model." + k: v for k, v in text.state_dict().items()})
    weights.update({"y_encoder.projector." + k: v for k, v in projector.state_dict().items()})
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(directory, "model.safetensors"))
    config = dict(name="bench-vits-minilm", shared_dim=SHARED,
                  clip=dict(frames=16, fps=4.0, window_seconds=4.0, stride_seconds=2.0, size=224, resize=256,
                            mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
                  retrieval_prompt="Describe the video.", vision=VISION, predictor=PREDICTOR, text=TEXT)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return vision, text, projector


def best_of(fn, repeats):
    """Best wall-clock and best process CPU seconds over `repeats` calls after a warm-up."""
    fn()
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - cpu_start)
    return wall, cpu


def vit_flops(tokens, cfg):
    """Multiply-adds ×2 of the ViT forward: patch GEMM, q/k/v/proj, MLP, QKᵀ and PV."""
    h, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    mlp = int(h * cfg["mlp_ratio"])
    patch = 2 * tokens * cfg["in_chans"] * cfg["tubelet_size"] * cfg["patch_size"] ** 2 * h
    per_layer = 2 * tokens * h * h * 4 + 2 * tokens * h * mlp * 2 + 4 * tokens * tokens * h
    return patch + layers * per_layer


def run_ours(binary, directory, args, clips=1):
    out = subprocess.run([binary, "model", "bench", directory, "--threads", str(args.threads), "--repeats",
                          str(args.repeats), "--clips", str(clips)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_vjepa2(args):
    """The ViT and BERT rows of the report, and their RESULT fields."""
    with tempfile.TemporaryDirectory(prefix="vjsearch-bench-") as directory:
        vision, text, projector = build(directory)
        video = torch.randn(1, 16, 3, 224, 224)
        ids = torch.randint(1, TEXT["vocab_size"], (32, 16))
        mask = torch.ones_like(ids)

        def torch_vision():
            vision(pixel_values_videos=video, skip_predictor=True)

        def torch_text():
            hidden = text(input_ids=ids, attention_mask=mask).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            F.normalize(projector(pooled), dim=-1)

        ours, theirs = [], []
        for _ in range(args.rounds):  # alternate, keep the best of each: the CPUs are shared
            ours.append(run_ours(args.binary, directory, args))
            theirs.append((best_of(torch_vision, args.repeats), best_of(torch_text, args.repeats)))

    tokens = ours[0]["tokens_per_clip"]
    assert tokens == 8 * 14 * 14, tokens
    our_vision = min(o["vision_seconds"] for o in ours)
    our_text = min(o["text_seconds"] for o in ours)
    our_vision_cpu = min(o["vision_cpu_seconds"] for o in ours)
    our_text_cpu = min(o["text_cpu_seconds"] for o in ours)
    sgemm = max(o["sgemm_gflops"] for o in ours)
    torch_vision_s = min(t[0][0] for t in theirs)
    torch_text_s = min(t[1][0] for t in theirs)
    torch_vision_cpu = min(t[0][1] for t in theirs)
    torch_text_cpu = min(t[1][1] for t in theirs)
    flops = vit_flops(tokens, VISION)
    achieved = flops / our_vision / 1e9
    print(f"threads {args.threads}; ViT-S vjepa2, 16×224² → {tokens} tokens, {flops / 1e9:.1f} GFLOP per clip")
    print(f"  ours   {1 / our_vision:7.3f} clips/s  ({our_vision * 1e3:8.1f} ms, {achieved:6.1f} GFLOP/s)")
    print(f"  torch  {1 / torch_vision_s:7.3f} clips/s  ({torch_vision_s * 1e3:8.1f} ms, {flops / torch_vision_s / 1e9:6.1f} GFLOP/s)")
    print(f"MiniLM-size BERT, 32 queries × 16 tokens")
    print(f"  ours   {32 / our_text:7.1f} queries/s ({our_text * 1e3:8.2f} ms per batch)")
    print(f"  torch  {32 / torch_text_s:7.1f} queries/s ({torch_text_s * 1e3:8.2f} ms per batch)")
    print(f"CPU seconds (all threads; steadier than wall time on a shared machine): ViT ours {our_vision_cpu:.2f} "
          f"torch {torch_vision_cpu:.2f} (ratio {torch_vision_cpu / our_vision_cpu:.2f}); text ours {our_text_cpu * 1e3:.1f} ms "
          f"torch {torch_text_cpu * 1e3:.1f} ms (ratio {torch_text_cpu / our_text_cpu:.2f})")
    print(f"sgemm (OpenBLAS, n=1536, {args.threads} threads): {sgemm:.1f} GFLOP/s")
    return (f"vit_ratio={torch_vision_s / our_vision:.3f} text_ratio={torch_text_s / our_text:.3f} "
            f"vit_gemm_frac={achieved / sgemm:.3f}")


def bench_efficientnet(args):
    """The EfficientNet-Lite0 rows of the report, and their RESULT fields."""
    with tempfile.TemporaryDirectory(prefix="vjsearch-bench-") as directory:
        net = build_efficientnet(directory)
        images = torch.randn(EFFNET_IMAGES, 3, 224, 224)
        ours, theirs = [], []
        for _ in range(args.rounds):  # alternate, keep the best of each: the CPUs are shared
            report = run_ours(args.binary, directory, args)
            assert report["images"] == EFFNET_IMAGES, report
            ours.append(report)
            theirs.append(best_of(lambda: net(images), args.repeats))
    our_s = min(o["vision_seconds"] for o in ours)
    our_cpu = min(o["vision_cpu_seconds"] for o in ours)
    torch_s = min(t[0] for t in theirs)
    torch_cpu = min(t[1] for t in theirs)
    n = EFFNET_IMAGES
    print(f"threads {args.threads}; EfficientNet-Lite0, {n} images of 224²")
    print(f"  ours   {n / our_s:7.1f} images/s ({our_s / n * 1e3:7.2f} ms per image, CPU {our_cpu / n * 1e3:7.2f} ms)")
    print(f"  torch  {n / torch_s:7.1f} images/s ({torch_s / n * 1e3:7.2f} ms per image, CPU {torch_cpu / n * 1e3:7.2f} ms)")
    return (f"effnet_ratio={torch_s / our_s:.3f} effnet_ms_per_image={our_s / n * 1e3:.2f} "
            f"effnet_torch_ms_per_image={torch_s / n * 1e3:.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="vjepa2,efficientnet", help="comma-separated: vjepa2, efficientnet")
    args = parser.parse_args()
    models = args.models.split(",")
    unknown = set(models) - {"vjepa2", "efficientnet"}
    if unknown or not models:
        parser.error(f"unknown --models {sorted(unknown)}")
    torch.set_num_threads(args.threads)
    results = []
    if "vjepa2" in models:
        results.append(bench_vjepa2(args))
    if "efficientnet" in models:
        results.append(bench_efficientnet(args))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("RESULT " + " ".join(results))


if __name__ == "__main__":
    main()
