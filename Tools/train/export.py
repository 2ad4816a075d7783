"""Exports a trained stage-2 checkpoint as a vjsearch model bundle (the format `JEPA.ModelBundle` reads).

    Tools/train/export.py --config Tools/train/mini.json --work WORK --out Models/vljepa-mini

Writes config.json (stamped with a content-hash model id by `vjsearch model stamp` when a release build exists,
so that `vjsearch model inspect --verify` agrees; else by the same hash in Python, whose JSON differs), model.safetensors
(f16), tokenizer.json (all-MiniLM-L6-v2's) and MODEL_CARD.md (from Tools/train/MODEL_CARD.template.md and WORK/metrics.md if present).
Weight keys: `x_encoder.` + VJEPA2Model.encoder keys, `predictor.` + Llama keys and vis_proj/out_proj,
`y_encoder.model.` + BertModel keys and `y_encoder.projector`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stage2 import minilm_dir  # noqa: E402


def bundle_config(cfg: dict, variant: str) -> dict:
    c, v, p = cfg["clip"], cfg["vision"], cfg["predictor"]
    bert = json.loads((minilm_dir() / "config.json").read_text())
    return {
        "name": cfg["name"] if variant == "vljepa" else f"{cfg['name']}-{variant}",
        "domain": "synthetic",
        # The default recipe trains captions and questions (stage2.py's multi-task mix); the comparisons captions only.
        "tasks": ["retrieval", "classification", "vqa", "chapters"] if variant == "vljepa"
        else ["retrieval", "classification", "chapters"],
        "shared_dim": cfg["shared_dim"],
        "retrieval_prompt": cfg["retrieval_prompt"],
        "clip": {"frames": c["frames"], "fps": c["frames"] / c["window"], "window_seconds": c["window"],
                 "stride_seconds": c["stride"], "size": c["size"], "resize": c["resize"], "mean": c["mean"],
                 "std": c["std"]},
        "vision": {"family": "vjepa2", "hidden_size": v["hidden_size"], "num_hidden_layers": v["num_hidden_layers"],
                   "num_attention_heads": v["num_attention_heads"], "mlp_ratio": v["mlp_ratio"],
                   "patch_size": v["patch_size"], "tubelet_size": v["tubelet_size"], "crop_size": v["crop_size"],
                   "frames_per_clip": v["frames_per_clip"], "in_chans": 3, "layer_norm_eps": v["layer_norm_eps"],
                   "qkv_bias": True, "hidden_act": "gelu"},
        "predictor": {"family": "llama", "hidden_size": p["hidden_size"], "num_hidden_layers": p["num_hidden_layers"],
                      "num_attention_heads": p["num_attention_heads"], "num_key_value_heads": p["num_key_value_heads"],
                      "head_dim": p["hidden_size"] // p["num_attention_heads"],
                      "intermediate_size": p["intermediate_size"], "rms_norm_eps": p["rms_norm_eps"],
                      "vocab_size": bert["vocab_size"], "rope_theta": p["rope_theta"], "hidden_act": "silu",
                      "attention_bias": False, "mlp_bias": False, "final_norm": True, "pool": "all_non_pad",
                      "max_prompt_tokens": p["max_text_tokens"], "pad_token_id": 0},
        "text": {"family": "bert", "vocab_size": bert["vocab_size"], "hidden_size": bert["hidden_size"],
                 "num_hidden_layers": bert["num_hidden_layers"], "num_attention_heads": bert["num_attention_heads"],
                 "intermediate_size": bert["intermediate_size"], "hidden_act": bert["hidden_act"],
                 "max_position_embeddings": bert["max_position_embeddings"], "type_vocab_size": bert["type_vocab_size"],
                 "layer_norm_eps": bert["layer_norm_eps"], "pooling": "mean", "dense": [],
                 "max_tokens": p["max_text_tokens"]},
    }


def bundle_weights(work: Path, variant: str) -> dict[str, torch.Tensor]:
    ck = torch.load(work / f"stage2_{variant}.pt", weights_only=False)
    x = ck["x"] if ck.get("x") is not None else torch.load(work / "x_encoder.pt")
    out = {}
    for k, t in x.items():
        if k.startswith("model.encoder."):
            out["x_encoder." + k[len("model.encoder."):]] = t
    for k, t in ck["video"].items():
        if "rotary_emb" not in k:
            out["predictor." + k] = t
    for k, t in ck["y"].items():
        out["y_encoder." + k] = t
    return {k: t.detach().to(torch.float16).contiguous() for k, t in out.items()}


def content_id(config: dict, weights: Path, tokenizer: Path) -> str:
    """`vj1-` + 32 hex digits: SHA-256 over the config (sorted keys, no model_id, domain or tasks), the weights and
    the tokenizer."""
    config = {k: v for k, v in config.items() if k not in ("model_id", "domain", "tasks")}
    outer = hashlib.sha256()
    for label, data in [("config", json.dumps(config, sort_keys=True).encode()), ("weights", weights.read_bytes()),
                        ("tokenizer", tokenizer.read_bytes())]:
        outer.update(label.encode() + b"\0" + hashlib.sha256(data).digest())
    return "vj1-" + outer.hexdigest()[:32]


def write_card(out: Path, model_id: str, work: Path) -> None:
    """MODEL_CARD.md from the template, with the metrics table `Tools/eval/run` wrote to WORK/metrics.md."""
    metrics_path = work / "metrics.md"
    metrics = metrics_path.read_text() if metrics_path.exists() else "_Not evaluated yet: run Tools/eval/run._"
    template = Path(__file__).with_name("MODEL_CARD.template.md").read_text()
    (out / "MODEL_CARD.md").write_text(template.replace("{{model_id}}", model_id).replace("{{metrics}}", metrics))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variant", default="vljepa")
    ap.add_argument("--stamp-with", type=Path, default=Path(__file__).resolve().parents[2] / ".build/release/vjsearch",
                    help="vjsearch binary that stamps the model id (skipped when it does not exist)")
    args = ap.parse_args()
    cfg = json.loads(args.config.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    config = bundle_config(cfg, args.variant)
    save_file(bundle_weights(args.work, args.variant), str(args.out / "model.safetensors"),
              metadata={"format": "vjsearch-bundle-1"})
    shutil.copyfile(minilm_dir() / "tokenizer.json", args.out / "tokenizer.json")
    config["model_id"] = content_id(config, args.out / "model.safetensors", args.out / "tokenizer.json")
    (args.out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if args.stamp_with.exists():
        stamped = subprocess.run([str(args.stamp_with), "model", "stamp", str(args.out)], capture_output=True, text=True)
        if stamped.returncode != 0:
            sys.exit(f"error: {args.stamp_with} model stamp {args.out}: {stamped.stderr.strip()}")
        config["model_id"] = stamped.stdout.strip()
    else:
        print(f"note: {args.stamp_with} does not exist; model id stamped in Python", file=sys.stderr)
    write_card(args.out, config["model_id"], args.work)
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"exported {args.out} ({size / 1e6:.1f} MB), model id {config['model_id']}", file=sys.stderr)


if __name__ == "__main__":
    main()
