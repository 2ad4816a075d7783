"""Full-size VL-JEPA on this machine's CPUs: our Swift engine against PyTorch CPU eager, random weights, real shapes.

The model is open-vljepa's (Tools/convert/README.md, /work/shared/reference/open-vljepa.md):
  X-encoder  V-JEPA 2 ViT-L/16 (facebook/vjepa2-vitl-fpc64-256): hidden 1024, 24 layers, 16 heads, crop 256,
             tubelet 2; a clip of 8 frames → 4×16×16 = 1024 visual tokens;
  predictor  the last 8 of Llama-3.2-1B's 16 layers (hidden 2048, 32 heads, 8 kv heads, MLP 8192, vocab 128256,
             llama3 RoPE), vis_proj 1024→2048, out_proj 2048→1536, over [1024 visual; 5 prompt tokens];
  Y-encoder  EmbeddingGemma-300M as a bare Gemma3TextModel (24 layers, 5 sliding : 1 full), mean pool,
             projector 768→1536; a query of 16 tokens.
The Hugging Face config.json files of the three sources are written to a temporary folder, the bundle's config
sections come from Tools/convert/convert.py's own helpers (vision_section, llama_section, gemma3_section,
clip_section), and the bundle is written by its write_bundle: the same file a user's `convert.py open-vljepa` makes,
with random weights. One f32 bundle; with --options also a bf16 one (and a 4-frame config beside the f32 weights).

Timing: `vjsearch model bench BUNDLE --predictor --clips 1 --queries 1 --query-tokens 16` (best of --repeats after a
warm-up) alternated with the same shapes in PyTorch (`torch.set_num_threads` the same) over --rounds; the best of
each is kept, since the CPUs are shared. PyTorch runs the predictor as open-vljepa does (4-D bidirectional mask,
positions 0…L−1) on the same 1029 tokens our engine runs (the prompt's 5 real tokens: pads change nothing and the
engine drops them; open-vljepa pads to 64, which would cost torch ~6% more). Peak RSS is the Swift process's
own VmHWM, which counts the mapped weight pages it has touched.

OPTION lines (--options), each against the f32 8-frame one-clip run: `bf16` as indexing loads a bundle that size
(16-bit weights kept in memory and converted per product, `ModelBundle.streamedWeightBytes`),
`bf16_converted_at_load` (Float32 copies made at load), `frames4` (4 frames at 1 fps: the same 4 s window),
`clips2` (2 clips per X-encoder and predictor call) and `threads1`, from which an Amdahl fit estimates 8 cores.

Output: human-readable lines, `OPTION …` lines with --options, then last
  RESULT vit_s_per_clip=… predictor_s_per_clip=… text_query_ms=… peak_rss_mb=… rtf=… torch_ratio=…
where rtf = (vit + predictor seconds per clip) ÷ the clip hop (2 s): above 1 is slower than real time, and
torch_ratio = (our vit + predictor seconds) ÷ (torch's): above 1 means we are slower than PyTorch.

Usage: fullsize.py VJSEARCH_BINARY [--threads N] [--rounds R] [--repeats K] [--options] [--workdir DIR] [--keep]
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from transformers import (Gemma3TextConfig, Gemma3TextModel, LlamaConfig, LlamaModel, VJEPA2Config, VJEPA2Model)

torch.set_grad_enabled(False)
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", ".."))

# "<|begin_of_text|>Describe the video." as Llama 3's tokenizer encodes it; only the count matters for timing.
PROMPT_IDS = [128000, 75885, 279, 2835, 13]
QUERY_TOKENS = 16
FRAMES, FPS, HOP = 8, 2.0, 2.0  # the recipe's clip: 8 frames at 2 fps, 4 s windows, 2 s hop


def load(name, path):
    """A module of Tools/ by path (Tools/ is not a package, and Tools/goldens/tokenizers.py would shadow tokenizers)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert = load("convert", os.path.join(TOOLS, "convert", "convert.py"))
golden_models = load("golden_models", os.path.join(TOOLS, "goldens", "models.py"))
encoder_bench = load("encoder_bench", os.path.join(TOOLS, "bench", "encoder.py"))
best_of, vit_flops = encoder_bench.best_of, encoder_bench.vit_flops  # the same timing and FLOP count as encoder.py


# ---------------------------------------------------------------- the three sources, as their config.json files

def vjepa2_config():
    """facebook/vjepa2-vitl-fpc64-256's config (its own predictor, unused with skip_predictor, is left default)."""
    return VJEPA2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, mlp_ratio=4.0, patch_size=16,
                        tubelet_size=2, crop_size=256, frames_per_clip=64, in_chans=3, layer_norm_eps=1e-6,
                        qkv_bias=True, hidden_act="gelu")


def llama_config():
    """meta-llama/Llama-3.2-1B's config (all 16 layers; the bundle keeps the last 8)."""
    return LlamaConfig(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                       num_key_value_heads=8, head_dim=64, rms_norm_eps=1e-5, vocab_size=128256, hidden_act="silu",
                       max_position_embeddings=131072, tie_word_embeddings=True, bos_token_id=128000,
                       eos_token_id=128001,
                       rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0, low_freq_factor=1.0,
                                            high_freq_factor=4.0, original_max_position_embeddings=8192))


def gemma_config():
    """google/embeddinggemma-300m's config: bidirectional Gemma 3, 5 sliding-window layers to 1 full."""
    return Gemma3TextConfig(vocab_size=262144, hidden_size=768, num_hidden_layers=24, num_attention_heads=3,
                            num_key_value_heads=1, head_dim=256, intermediate_size=1152,
                            hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                            layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 4, sliding_window=512,
                            use_bidirectional_attention=True, query_pre_attn_scalar=256, max_position_embeddings=2048,
                            rope_parameters=dict(full_attention=dict(rope_type="default", rope_theta=1000000.0),
                                                 sliding_attention=dict(rope_type="default", rope_theta=10000.0)),
                            pad_token_id=0, eos_token_id=1, bos_token_id=2)


def stand_in_tokenizer(path):
    """A tiny tokenizer.json for the bundle (bench never tokenises; a real bundle has EmbeddingGemma's)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    tok = Tokenizer(models.WordLevel({"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(path)


class Reference:
    """The three networks and heads in PyTorch with random weights, and the bundle tensors they make."""

    def __init__(self, sources):
        for name, cfg in [("vjepa2", vjepa2_config()), ("llama", llama_config()), ("gemma", gemma_config())]:
            os.makedirs(os.path.join(sources, name), exist_ok=True)
            cfg.to_json_file(os.path.join(sources, name, "config.json"))
        self.vcfg, self.vision_section = convert.vision_section(os.path.join(sources, "vjepa2"))
        self.lcfg, self.predictor_section = convert.llama_section(os.path.join(sources, "llama"), 8, 64)
        self.tcfg, self.text_section = convert.gemma3_section(os.path.join(sources, "gemma"), 64)
        torch.manual_seed(0)
        # V-JEPA 2's own predictor is never run (skip_predictor): a one-layer one saves memory.
        small = VJEPA2Config(**{**self.vcfg.to_dict(), "pred_hidden_size": 64, "pred_num_hidden_layers": 1,
                                "pred_num_attention_heads": 4})
        self.vision = VJEPA2Model(small).eval()
        self.llama = LlamaModel(LlamaConfig(**{**self.lcfg.to_dict(), "num_hidden_layers": 8})).eval()
        self.text = Gemma3TextModel(self.tcfg).eval()
        v, h = self.vision_section["hidden_size"], self.predictor_section["hidden_size"]
        self.shared = 1536
        self.heads = convert.new_heads(0, v, h, self.text_section["hidden_size"], self.shared)
        self.vis_proj = torch.nn.Linear(v, h)
        self.out_proj = torch.nn.Linear(h, self.shared)
        self.projector = torch.nn.Linear(self.text_section["hidden_size"], self.shared)
        for prefix, m in [("predictor.vis_proj.", self.vis_proj), ("predictor.out_proj.", self.out_proj),
                          ("y_encoder.projector.", self.projector)]:
            for name, p in m.named_parameters():
                p.copy_(self.heads[prefix + name])

    def weights(self):
        """Bundle tensors, checked by name and shape with convert.py's own helpers."""
        w = {}
        w.update(convert.vision_weights(None, self.vcfg, self.vision.state_dict(), "random V-JEPA 2"))
        w.update({"predictor." + k: v for k, v in convert.take(
            self.llama.state_dict(), convert.llama_shapes(self.lcfg, 8), "", "random Llama", "predictor").items()})
        w.update(self.heads)
        w.update(convert.text_weights(None, "gemma3", self.tcfg, self.text.state_dict(), "random Gemma 3"))
        return w

    def config(self, frames, fps, dtype):
        clip = convert.clip_section(SimpleNamespace(frames=frames, fps=fps, stride=HOP, resize=None), self.vision_section)
        # A model_id spares vjsearch hashing gigabytes at each load; a real bundle is stamped by the converter.
        return dict(name="bench-fullsize-random", model_id=f"bench-fullsize-random-{dtype}-{frames}f",
                    shared_dim=self.shared, clip=clip, retrieval_prompt=convert.RETRIEVAL_PROMPT,
                    retrieval_prompt_ids=PROMPT_IDS, vision=self.vision_section, predictor=self.predictor_section,
                    text=self.text_section)

    def write(self, out, dtype, frames=FRAMES, fps=FPS, weights_from=None):
        """A bundle as convert.py writes it; with `weights_from`, only config.json, beside links to that bundle."""
        card = "# bench-fullsize-random\n\nRandom weights of open-vljepa's shapes, for Tools/bench/fullsize only.\n"
        if weights_from is None:
            tokenizer = os.path.join(os.path.dirname(out), "stand-in-tokenizer.json")
            stand_in_tokenizer(tokenizer)
            convert.write_bundle(out, self.config(frames, fps, dtype), self.weights(), tokenizer, card, dtype, None)
            return
        os.makedirs(out, exist_ok=True)
        for name in ["model.safetensors", "tokenizer.json", "MODEL_CARD.md"]:
            os.symlink(os.path.join(weights_from, name), os.path.join(out, name))
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(self.config(frames, fps, dtype), f, indent=2, sort_keys=True)

    # PyTorch timings on the same shapes ------------------------------------------------

    def timed(self, threads, repeats, frames=FRAMES):
        torch.set_num_threads(threads)
        size = self.vision_section["crop_size"]
        video = torch.randn(1, frames, 3, size, size)
        nv = (frames // self.vision_section["tubelet_size"]) * (size // self.vision_section["patch_size"]) ** 2
        visual = torch.randn(1, nv, self.vision_section["hidden_size"])
        prompt = torch.tensor(PROMPT_IDS)
        ids = torch.randint(1, self.text_section["vocab_size"], (1, QUERY_TOKENS))

        def vit():
            self.vision(pixel_values_videos=video, skip_predictor=True)

        def predictor():
            x = torch.cat([self.vis_proj(visual), self.llama.embed_tokens(prompt)[None]], dim=1)
            valid = torch.ones(1, x.shape[1], dtype=torch.bool)
            hidden = self.llama(inputs_embeds=x, attention_mask=golden_models.bidirectional_mask(valid),
                                position_ids=torch.arange(x.shape[1])[None]).last_hidden_state
            F.normalize(self.out_proj(hidden.mean(1)), dim=-1)

        def text():
            hidden = self.text(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            F.normalize(self.projector(hidden.mean(1)), dim=-1)

        load = os.getloadavg()[0]
        return dict(vit=best_of(vit, repeats), predictor=best_of(predictor, repeats), text=best_of(text, repeats),
                    load=max(load, os.getloadavg()[0]))


def run_ours(binary, bundle, threads, repeats, clips=1, half_weights="auto"):
    """One `vjsearch model bench` process: its JSON report plus peak RSS (MiB), wall seconds and the load average.
    `half_weights`: auto (as indexing loads the bundle), stream or convert (16-bit weights to Float32 at load)."""
    command = [binary, "model", "bench", bundle, "--predictor", "--threads", str(threads), "--repeats", str(repeats),
               "--clips", str(clips), "--queries", "1", "--query-tokens", str(QUERY_TOKENS), "--half-weights", half_weights]
    load, start = os.getloadavg()[0], time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} exited {result.returncode}: {result.stderr.strip()}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # VmHWM from the process itself: wait4's ru_maxrss would include this Python process's pages, since the child
    # was forked from it before exec.
    report["peak_rss_mb"] = report["peak_rss_bytes"] / 2**20
    report["process_seconds"] = time.perf_counter() - start
    report["load"] = max(load, os.getloadavg()[0])
    return report


def predictor_flops(visual, prompt, vision_width, cfg, shared):
    """Multiply-adds ×2 of the predictor: vis_proj, per layer q/k/v/o, the gated MLP, QKᵀ and PV; out_proj."""
    h, d, n = cfg["hidden_size"], cfg["head_dim"], visual + prompt
    q, kv = cfg["num_attention_heads"] * d, cfg["num_key_value_heads"] * d
    layer = 2 * n * h * (2 * q + 2 * kv) + 2 * n * h * cfg["intermediate_size"] * 3 + 4 * n * n * q
    return 2 * visual * vision_width * h + cfg["num_hidden_layers"] * layer + 2 * h * shared


def best(reports, key):
    return min(r[key] for r in reports)


def size_gb(path):
    return os.path.getsize(path) / 1e9


def per_clip(report):
    """X-encoder and predictor seconds per clip (wall), and the same in CPU seconds."""
    c = report["clips"]
    return (report["vision_seconds"] / c, report["predictor_seconds"] / c,
            report["vision_cpu_seconds"] / c, report["predictor_cpu_seconds"] / c)


def option_line(name, report, base=None, extra=""):
    vit, pred, vit_cpu, pred_cpu = per_clip(report)
    line = (f"OPTION {name}: vit_s_per_clip={vit:.2f} predictor_s_per_clip={pred:.2f} "
            f"rtf={(vit + pred) / HOP:.2f} cpu_s_per_clip={vit_cpu + pred_cpu:.2f} peak_rss_mb={report['peak_rss_mb']:.0f}")
    if base is not None:
        b = per_clip(base)
        line += f" speedup_vs_f32_8f_1clip={(b[0] + b[1]) / (vit + pred):.2f} (cpu {(b[2] + b[3]) / (vit_cpu + pred_cpu):.2f})"
    return line + f"{extra} load={report['load']:.1f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ours and PyTorch (best kept)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per process after a warm-up (best kept)")
    parser.add_argument("--options", action="store_true",
                        help="also bf16 weights, 4 frames, 2 clips per call, and 1 thread (for the scaling estimate)")
    parser.add_argument("--workdir", help="where the temporary bundles go (default: the system temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the bundles (their folder is printed)")
    args = parser.parse_args()
    for name in ["threads", "rounds", "repeats"]:
        if not 1 <= getattr(args, name) <= 1024:
            parser.error(f"--{name} must be 1…1024")

    work = tempfile.mkdtemp(prefix="vjsearch-fullsize-", dir=args.workdir)
    try:
        started = time.perf_counter()
        ref = Reference(os.path.join(work, "sources"))
        f32 = os.path.join(work, "f32")
        ref.write(f32, "f32")
        bf16 = frames4 = None
        if args.options:
            bf16, frames4 = os.path.join(work, "bf16"), os.path.join(work, "f32-4frames")
            ref.write(bf16, "bf16")
            ref.write(frames4, "f32", frames=4, fps=1.0, weights_from=f32)  # same 4 s window and 2 s hop, 1 fps
        params = sum(p.numel() for m in [ref.vision.encoder, ref.llama, ref.text] for p in m.parameters())
        print(f"random full-size bundle in {work} ({time.perf_counter() - started:.0f} s to build): "
              f"f32 {size_gb(os.path.join(f32, 'model.safetensors')):.2f} GB"
              + (f", bf16 {size_gb(os.path.join(bf16, 'model.safetensors')):.2f} GB" if bf16 else "")
              + f"; {params / 1e9:.2f} B parameters (x-encoder {sum(p.numel() for p in ref.vision.encoder.parameters()) / 1e6:.0f} M, "
              f"predictor {sum(p.numel() for p in ref.llama.parameters()) / 1e6:.0f} M + heads, "
              f"y-encoder {sum(p.numel() for p in ref.text.parameters()) / 1e6:.0f} M)", flush=True)

        ours, theirs = [], []
        for _ in range(args.rounds):  # alternate, keep the best of each: the CPUs are shared
            ours.append(run_ours(args.binary, f32, args.threads, args.repeats))
            theirs.append(ref.timed(args.threads, args.repeats))
        o = ours[0]
        assert o["tokens_per_clip"] == 1024 and o["prompt_tokens"] == len(PROMPT_IDS) and o["frames"] == FRAMES, o
        vit, pred = best(ours, "vision_seconds"), best(ours, "predictor_seconds")
        vit_cpu, pred_cpu = best(ours, "vision_cpu_seconds"), best(ours, "predictor_cpu_seconds")
        text_ms = best(ours, "text_seconds") * 1e3
        rss = max(r["peak_rss_mb"] for r in ours)
        t_vit, t_pred = min(t["vit"][0] for t in theirs), min(t["predictor"][0] for t in theirs)
        t_vit_cpu, t_pred_cpu = min(t["vit"][1] for t in theirs), min(t["predictor"][1] for t in theirs)
        t_text_ms = min(t["text"][0] for t in theirs) * 1e3
        sgemm = max(r["sgemm_gflops"] for r in ours)
        loads = " ".join(f"{r['load']:.1f}/{t['load']:.1f}" for r, t in zip(ours, theirs))
        print(f"threads {args.threads} of {os.cpu_count()} CPUs; load average per round (ours/torch): {loads}; "
              f"sgemm {sgemm:.0f} GFLOP/s; best of {args.repeats} × {args.rounds} rounds")
        vf = vit_flops(1024, ref.vision_section)
        pf = predictor_flops(1024, len(PROMPT_IDS), ref.vision_section["hidden_size"], ref.predictor_section, ref.shared)
        print(f"X-encoder ViT-L/16, {FRAMES}×256² → 1024 tokens, {vf / 1e9:.0f} GFLOP: ours {vit:6.2f} s/clip "
              f"(CPU {vit_cpu:6.2f} s, {vf / vit / 1e9:4.0f} GFLOP/s = {vf / vit / 1e9 / sgemm:.0%} of sgemm)   "
              f"torch {t_vit:6.2f} s (CPU {t_vit_cpu:6.2f} s)")
        print(f"predictor 8 Llama layers, 1024+{len(PROMPT_IDS)} tokens, {pf / 1e9:.0f} GFLOP: ours {pred:6.2f} s/clip "
              f"(CPU {pred_cpu:6.2f} s, {pf / pred / 1e9:4.0f} GFLOP/s = {pf / pred / 1e9 / sgemm:.0%} of sgemm)   "
              f"torch {t_pred:6.2f} s (CPU {t_pred_cpu:6.2f} s)")
        print(f"text query, EmbeddingGemma {QUERY_TOKENS} tokens:     ours {text_ms:6.1f} ms        "
              f"torch {t_text_ms:6.1f} ms   (model loaded; a cold `vjsearch query` adds the load)")
        rtf = (vit + pred) / HOP
        torch_ratio = (vit + pred) / (t_vit + t_pred)
        print(f"peak RSS of the Swift process {rss:.0f} MB (f32 weights mapped in place)")
        print(f"indexing cost: {vit + pred:.2f} s per clip every {HOP:.0f} s of video → rtf {rtf:.2f} "
              f"(rtf = compute seconds ÷ video seconds; above 1 is slower than real time: an hour of video takes "
              f"{rtf:.1f} h on the X-encoder and predictor alone, decode not counted)")
        n = args.threads
        print(f"on {n} idle cores (our CPU seconds ÷ {n}, what the load of other processes took away): "
              f"{(vit_cpu + pred_cpu) / n:.2f} s per clip, rtf {(vit_cpu + pred_cpu) / n / HOP:.2f}; "
              f"on 8 such cores at the same per-core speed and perfect scaling: rtf "
              f"{(vit_cpu + pred_cpu) / 8 / HOP:.2f} (a lower bound)")
        print(f"ours ÷ torch (above 1 = we are slower): wall {torch_ratio:.2f}, CPU seconds "
              f"{(vit_cpu + pred_cpu) / (t_vit_cpu + t_pred_cpu):.2f} (x-encoder {vit_cpu / t_vit_cpu:.2f}, "
              f"predictor {pred_cpu / t_pred_cpu:.2f})", flush=True)

        if args.options:
            base = min(ours, key=lambda r: r["vision_seconds"] + r["predictor_seconds"])
            gb = f" bundle_gb={size_gb(os.path.join(bf16, 'model.safetensors')):.2f} " \
                 f"(f32 {size_gb(os.path.join(f32, 'model.safetensors')):.2f}, peak_rss_mb {rss:.0f})"
            # The two ways of holding 16-bit weights alternate over the rounds, best kept, as the main timing does.
            runs = {"auto": [], "convert": []}
            for _ in range(args.rounds):
                for mode in runs:
                    runs[mode].append(run_ours(args.binary, bf16, args.threads, args.repeats, half_weights=mode))
            for mode, name, how in [("auto", "bf16", "streamed: kept 16-bit, converted per product"),
                                    ("convert", "bf16_converted_at_load", "converted once")]:
                b16 = min(runs[mode], key=lambda r: r["vision_seconds"] + r["predictor_seconds"])
                b16["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs[mode])
                print(option_line(name, b16, base, gb + f" ({how})"), flush=True)
            f4 = run_ours(args.binary, frames4, args.threads, args.repeats)
            assert f4["tokens_per_clip"] == 512, f4
            print(option_line("frames4", f4, base, " tokens=512 (4 frames at 1 fps, same 4 s window, 2 s hop)"), flush=True)
            c2 = run_ours(args.binary, f32, args.threads, 1, clips=2)  # one timed call after the warm-up
            print(option_line("clips2", c2, base, " (2 clips per call, seconds per clip)"), flush=True)
            if args.threads > 1:
                one = run_ours(args.binary, f32, 1, 1)
                v1, p1, _, _ = per_clip(one)
                t1, tn = v1 + p1, vit + pred
                # Amdahl fit to 1 and N threads: serial fraction s from tn/t1 = s + (1 − s)/N, then 8 threads.
                s = min(1.0, max(0.0, (tn / t1 - 1 / n) / (1 - 1 / n)))
                t8 = t1 * (s + (1 - s) / 8)
                print(option_line("threads1", one, None,
                                  f" scaling_{n}_threads={t1 / tn:.2f}x serial_fraction={s:.3f} "
                                  f"est_8_cores_s_per_clip={t8:.2f} est_8_cores_rtf={t8 / HOP:.2f}"), flush=True)
        print(f"total {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
        # torch_ratio = (our vit + predictor seconds) ÷ (torch's): above 1 means slower than PyTorch.
        print(f"RESULT vit_s_per_clip={vit:.3f} predictor_s_per_clip={pred:.3f} text_query_ms={text_ms:.1f} "
              f"peak_rss_mb={rss:.0f} rtf={rtf:.3f} torch_ratio={torch_ratio:.3f}")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
