#!/usr/bin/env python3
"""Builds tiny random-weight reference models with Hugging Face transformers and writes golden fixtures.

Outputs (committed, used by Tests/JEPATests without Python):
  Fixtures/<name>/config.json         our config sections (the same schema as a bundle's config.json)
  Fixtures/<name>/model.safetensors   weights under the bundle prefixes (x_encoder., predictor., y_encoder.)
  Fixtures/<name>/io.safetensors      inputs and reference outputs

Components: VJEPA2Model encoder output, LlamaModel with a bidirectional 4-D mask, BertModel, Gemma3TextModel with
bidirectional attention and a sliding window. Two full tiny VL-JEPA bundles assemble them with the heads, once in
open-vljepa's layout (Gemma 3 Y-encoder, final norm, pool over visual + prompt tokens) and once with a BERT
Y-encoder, two dense layers, no final norm and a prompt-only pool, stored as f16.

Usage: Tools/.venv/bin/python Tools/goldens/models.py [output_dir]
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (BertConfig, BertModel, Gemma3TextConfig, Gemma3TextModel, LlamaConfig, LlamaModel,
                          VJEPA2Config, VJEPA2Model)

torch.set_grad_enabled(False)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "JEPATests", "Fixtures")


def randomize(model, gemma=False):
    """Replaces every parameter with seeded noise; norm scales sit near 1 (Gemma stores w of (1 + w))."""
    for name, p in model.named_parameters():
        if "norm" in name.lower() and name.endswith("weight") and not gemma:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.2 * torch.randn_like(p))


def save(name, config, weights, io):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(d, "model.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(d, "io.safetensors"))


def prefixed(prefix, state):
    return {prefix + k: v.clone() for k, v in state.items()}


# ---------------------------------------------------------------- components

VISION = dict(family="vjepa2", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=2.0,
              patch_size=8, tubelet_size=2, crop_size=32, frames_per_clip=4, in_chans=3, layer_norm_eps=1e-6,
              qkv_bias=True, hidden_act="gelu")


def vjepa2(seed):
    torch.manual_seed(seed)
    c = {k: v for k, v in VISION.items() if k != "family"}
    model = VJEPA2Model(VJEPA2Config(**c, pred_hidden_size=16, pred_num_attention_heads=2, pred_num_hidden_layers=1,
                                     attn_implementation="eager")).eval()
    randomize(model)
    return model


def vision_state(model):
    return {k[len("encoder."):]: v for k, v in model.state_dict().items() if k.startswith("encoder.")}


def llama_config(final_norm=True, pool="all_non_pad"):
    return dict(family="llama", hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                head_dim=12, intermediate_size=80, rms_norm_eps=1e-5, vocab_size=64, rope_theta=500000.0,
                rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                  original_max_position_embeddings=8192),
                hidden_act="silu", attention_bias=False, mlp_bias=False, final_norm=final_norm, pool=pool,
                max_prompt_tokens=16, pad_token_id=0)


def llama(seed, cfg):
    torch.manual_seed(seed)
    hf = LlamaConfig(hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_hidden_layers"],
                     num_attention_heads=cfg["num_attention_heads"], num_key_value_heads=cfg["num_key_value_heads"],
                     head_dim=cfg["head_dim"], intermediate_size=cfg["intermediate_size"],
                     rms_norm_eps=cfg["rms_norm_eps"], vocab_size=cfg["vocab_size"],
                     rope_parameters=dict(rope_theta=cfg["rope_theta"], **cfg["rope_scaling"]),
                     max_position_embeddings=131072, attn_implementation="eager", pad_token_id=0)
    model = LlamaModel(hf).eval()
    randomize(model)
    return model


def bidirectional_mask(valid):
    """[B, 1, L, L] additive mask: every query sees every non-pad key (the causal mask removed).

    Float, not bool: a 4-D mask reaches the attention function as is, and eager attention adds it to the scores."""
    b, l = valid.shape
    keep = valid[:, None, None, :].expand(b, 1, l, l)
    return torch.zeros(b, 1, l, l).masked_fill(~keep, torch.finfo(torch.float32).min)


BERT = dict(family="bert", vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_act="gelu", max_position_embeddings=16, type_vocab_size=2,
            layer_norm_eps=1e-12, pooling="mean", dense=[], max_tokens=16)


def bert(seed):
    torch.manual_seed(seed)
    c = {k: BERT[k] for k in ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                              "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size",
                              "layer_norm_eps"]}
    model = BertModel(BertConfig(**c, attn_implementation="eager"), add_pooling_layer=False).eval()
    randomize(model)
    return model


GEMMA = dict(family="gemma3", vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
             num_key_value_heads=1, head_dim=16, intermediate_size=48, hidden_activation="gelu_pytorch_tanh",
             rms_norm_eps=1e-6, rope_theta=1000000.0, rope_local_base_freq=10000.0,
             layer_types=["sliding_attention", "sliding_attention", "full_attention"], sliding_window=6,
             use_bidirectional_attention=True, query_pre_attn_scalar=24, attention_bias=False,
             pooling="mean", dense=[], max_tokens=16)


def gemma3(seed):
    torch.manual_seed(seed)
    c = GEMMA
    hf = Gemma3TextConfig(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                          num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                          num_key_value_heads=c["num_key_value_heads"], head_dim=c["head_dim"],
                          intermediate_size=c["intermediate_size"], hidden_activation=c["hidden_activation"],
                          rms_norm_eps=c["rms_norm_eps"], layer_types=c["layer_types"],
                          sliding_window=c["sliding_window"], use_bidirectional_attention=True,
                          query_pre_attn_scalar=c["query_pre_attn_scalar"],
                          rope_parameters=dict(
                              full_attention=dict(rope_type="default", rope_theta=c["rope_theta"]),
                              sliding_attention=dict(rope_type="default", rope_theta=c["rope_local_base_freq"])),
                          max_position_embeddings=64, attn_implementation="eager", pad_token_id=0)
    model = Gemma3TextModel(hf).eval()
    assert model.config.sliding_window == c["sliding_window"] // 2 + 1
    randomize(model, gemma=True)
    return model


def padded_ids(seed, lengths, length, vocab):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (len(lengths), length), generator=g)
    valid = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    return ids.masked_fill(~valid, 0), valid


def components():
    # V-JEPA 2 encoder: two clips of 4 frames at 32 px → 2 × 4 × 4 = 32 tokens each.
    model = vjepa2(1)
    video = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(11))
    out = model(pixel_values_videos=video, skip_predictor=True).last_hidden_state
    save("vjepa2", dict(vision=VISION), prefixed("x_encoder.", vision_state(model)),
         dict(pixel_values_videos=video, last_hidden_state=out))

    # Llama with the causal mask removed; the second sequence is padded.
    cfg = llama_config()
    model = llama(2, cfg)
    ids, valid = padded_ids(12, [10, 7], 10, cfg["vocab_size"])
    out = model(input_ids=ids, attention_mask=bidirectional_mask(valid)).last_hidden_state
    save("llama", dict(predictor=cfg), prefixed("predictor.", model.state_dict()),
         dict(input_ids=ids, lengths=valid.sum(1), last_hidden_state=out))

    model = bert(3)
    ids, valid = padded_ids(13, [9, 5], 9, BERT["vocab_size"])
    out = model(input_ids=ids, attention_mask=valid.long()).last_hidden_state
    save("bert", dict(text=BERT), prefixed("y_encoder.model.", model.state_dict()),
         dict(input_ids=ids, lengths=valid.sum(1), last_hidden_state=out))

    model = gemma3(4)
    ids, valid = padded_ids(14, [12, 8], 12, GEMMA["vocab_size"])
    out = model(input_ids=ids, attention_mask=valid.long()).last_hidden_state
    save("gemma3", dict(text=GEMMA), prefixed("y_encoder.model.", model.state_dict()),
         dict(input_ids=ids, lengths=valid.sum(1), last_hidden_state=out))


# ---------------------------------------------------------------- full VL-JEPA

class TinyVLJEPA(torch.nn.Module):
    """VL-JEPA as open-vljepa assembles it: X-encoder tokens → vis_proj → [visual; prompt] → bidirectional Llama
    → (final norm) → masked mean → out_proj; text → Y-encoder → masked mean → dense → projector; L2-normalised."""

    def __init__(self, vision, llama_model, text, text_family, pcfg, shared, dense):
        super().__init__()
        self.vision, self.llama, self.text, self.text_family, self.pcfg = vision, llama_model, text, text_family, pcfg
        h = llama_model.config.hidden_size
        self.vis_proj = torch.nn.Linear(vision.config.hidden_size, h)
        self.out_proj = torch.nn.Linear(h, shared)
        self.dense = torch.nn.ModuleList([torch.nn.Linear(d["in_features"], d["out_features"], bias=d["bias"])
                                          for d in dense])
        self.dense_specs = dense
        self.projector = torch.nn.Linear(text.config.hidden_size, shared)
        if not pcfg["final_norm"]:
            self.llama.norm = torch.nn.Identity()

    def embed_clips(self, video, prompt, prompt_valid):
        tokens = self.vision(pixel_values_videos=video, skip_predictor=True).last_hidden_state
        b, nv, _ = tokens.shape
        visual = self.vis_proj(tokens)
        prompt_embeds = self.llama.embed_tokens(prompt)[None].expand(b, -1, -1)
        x = torch.cat([visual, prompt_embeds], dim=1)
        valid = torch.cat([torch.ones(b, nv, dtype=torch.bool), prompt_valid[None].expand(b, -1)], dim=1)
        positions = torch.arange(x.shape[1])[None].expand(b, -1)
        hidden = self.llama(inputs_embeds=x, attention_mask=bidirectional_mask(valid),
                            position_ids=positions).last_hidden_state
        pool = valid.clone()
        if self.pcfg["pool"] == "prompt_non_pad":
            pool[:, :nv] = False
        mean = (hidden * pool[..., None]).sum(1) / pool.sum(1, keepdim=True)
        return F.normalize(self.out_proj(mean), dim=-1)

    def embed_texts(self, ids, valid):
        hidden = self.text(input_ids=ids, attention_mask=valid.long()).last_hidden_state
        x = (hidden * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
        for layer, spec in zip(self.dense, self.dense_specs):
            x = layer(x)
            if spec["activation"] == "tanh":
                x = torch.tanh(x)
        return F.normalize(self.projector(x), dim=-1)


def full(name, text_family, pool, final_norm, dense, dtype, seed):
    vision = vjepa2(seed)
    pcfg = llama_config(final_norm=final_norm, pool=pool)
    llama_model = llama(seed + 1, pcfg)
    tcfg = dict(BERT if text_family == "bert" else GEMMA, dense=dense)
    text = bert(seed + 2) if text_family == "bert" else gemma3(seed + 2)
    shared = 24
    model = TinyVLJEPA(vision, llama_model, text, text_family, pcfg, shared, dense).eval()
    torch.manual_seed(seed + 3)
    for m in [model.vis_proj, model.out_proj, model.projector, *model.dense]:
        for p in m.parameters():
            p.copy_(0.2 * torch.randn_like(p))

    weights = {}
    weights.update(prefixed("x_encoder.", vision_state(vision)))
    state = llama_model.state_dict()
    if not final_norm:
        state = {k: v for k, v in state.items() if not k.startswith("norm.")}
    weights.update(prefixed("predictor.", state))
    weights.update(prefixed("predictor.vis_proj.", model.vis_proj.state_dict()))
    weights.update(prefixed("predictor.out_proj.", model.out_proj.state_dict()))
    weights.update(prefixed("y_encoder.model.", text.state_dict()))
    for i, layer in enumerate(model.dense):
        weights.update(prefixed(f"y_encoder.dense.{i}.", layer.state_dict()))
    weights.update(prefixed("y_encoder.projector.", model.projector.state_dict()))
    # The reference runs on exactly the stored (possibly f16-rounded) weights.
    weights = {k: v.to(dtype) for k, v in weights.items()}
    for module_prefix, module, _ in [("x_encoder.", vision.encoder, ""), ("predictor.", llama_model, ""),
                                         ("y_encoder.model.", text, "")]:
        for pname, p in module.named_parameters():
            key = module_prefix + pname
            if key in weights:
                p.copy_(weights[key].float())
    for prefix, m in [("predictor.vis_proj.", model.vis_proj), ("predictor.out_proj.", model.out_proj),
                      ("y_encoder.projector.", model.projector)] + [(f"y_encoder.dense.{i}.", l) for i, l in
                                                                     enumerate(model.dense)]:
        for pname, p in m.named_parameters():
            p.copy_(weights[prefix + pname].float())

    video = torch.randn(3, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed + 4))
    prompt = torch.tensor([5, 17, 3, 42, 9])
    padded_prompt = torch.cat([prompt, torch.zeros(3, dtype=torch.long)])  # padded like open-vljepa's prompt
    prompt_valid = torch.arange(8) < len(prompt)
    clip_vectors = model.embed_clips(video, padded_prompt, prompt_valid)
    ids, valid = padded_ids(seed + 5, [7, 3, 9], 9, tcfg["vocab_size"])
    text_vectors = model.embed_texts(ids, valid)

    config = dict(
        name=name, shared_dim=shared,
        clip=dict(frames=4, fps=4.0, window_seconds=1.0, stride_seconds=0.5, size=32, resize=36,
                  mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        retrieval_prompt="Describe the video.",
        vision=VISION, predictor=pcfg, text=tcfg)
    save(name, config, weights,
         dict(pixel_values_videos=video, prompt_ids=prompt, text_ids=ids, text_lengths=valid.sum(1),
              clip_vectors=clip_vectors, text_vectors=text_vectors))


if __name__ == "__main__":
    components()
    full("vljepa-tiny-gemma", "gemma3", pool="all_non_pad", final_norm=True, dense=[], dtype=torch.float32,
         seed=20)
    full("vljepa-tiny-bert", "bert", pool="prompt_non_pad", final_norm=False,
         dense=[dict(in_features=32, out_features=64, bias=False, activation="identity"),
                dict(in_features=64, out_features=32, bias=True, activation="tanh")],
         dtype=torch.float16, seed=30)
    print("wrote fixtures to", OUT)
