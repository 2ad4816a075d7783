"""VL-JEPA in PyTorch for training vljepa-mini, built from Hugging Face `transformers` modules.

The three networks use the same module classes (and so the same parameter names) as the reference models the
Swift engine is verified against:
- X-encoder: `VJEPA2Model` (3D RoPE ViT, tubelet embedding, final LayerNorm). Stage 1 also trains its
  own V-JEPA predictor (`VJEPA2Model.predictor`), which is not exported.
- Predictor: Llama decoder layers with the causal mask removed (paper §3.1; open-vljepa's layout):
  [vis_proj(visual tokens); embed_tokens(prompt ids)] → layers (bidirectional, pad columns masked, RoPE positions
  0…L−1 over the whole sequence) → final RMSNorm → masked mean over visual and non-pad prompt tokens → out_proj.
- Y-encoder: `BertModel` (all-MiniLM-L6-v2) → masked mean of the last hidden state → projector.
Outputs are L2-normalised; the loss is bidirectional InfoNCE.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertModel, LlamaConfig, VJEPA2Config, VJEPA2Model
from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRMSNorm, LlamaRotaryEmbedding


def vision_config(c: dict) -> VJEPA2Config:
    return VJEPA2Config(
        patch_size=c["patch_size"], crop_size=c["crop_size"], frames_per_clip=c["frames_per_clip"],
        tubelet_size=c["tubelet_size"], hidden_size=c["hidden_size"], in_chans=3,
        num_attention_heads=c["num_attention_heads"], num_hidden_layers=c["num_hidden_layers"],
        mlp_ratio=c["mlp_ratio"], layer_norm_eps=c.get("layer_norm_eps", 1e-6), qkv_bias=True, hidden_act="gelu",
        drop_path_rate=0.0, pred_hidden_size=c.get("pred_hidden_size", c["hidden_size"]),
        pred_num_attention_heads=c.get("pred_num_attention_heads", c["num_attention_heads"]),
        pred_num_hidden_layers=c.get("pred_num_hidden_layers", 2), pred_num_mask_tokens=c.get("pred_num_mask_tokens", 2),
        attn_implementation="sdpa")


def llama_config(c: dict, vocab_size: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c["num_key_value_heads"], head_dim=c["hidden_size"] // c["num_attention_heads"],
        rms_norm_eps=c.get("rms_norm_eps", 1e-5), rope_theta=c.get("rope_theta", 10000.0),
        max_position_embeddings=c.get("max_position_embeddings", 2048), hidden_act="silu", attention_bias=False,
        mlp_bias=False, attn_implementation="sdpa")


class XEncoder(nn.Module):
    """V-JEPA 2 video ViT. `forward` returns visual tokens [B, N, D] for frames [B, T, 3, H, W]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.model = VJEPA2Model(vision_config(cfg))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.model.encoder(pixel_values_videos=video).last_hidden_state

    def encode_context(self, video: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Runs the encoder on the kept token indices only [B, K] (V-JEPA's context encoder), 3D RoPE at their
        original positions. Returns [B, K, D]."""
        enc = self.model.encoder
        x = enc.embeddings(video)
        x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.size(-1)))
        for layer in enc.layer:
            x = layer(x, keep)[0]
        return enc.layernorm(x)


class Predictor(nn.Module):
    """Llama blocks with bidirectional attention over [visual tokens; prompt tokens] (paper §3.1)."""

    def __init__(self, cfg: dict, vision_dim: int, vocab_size: int, shared_dim: int):
        super().__init__()
        lc = llama_config(cfg, vocab_size)
        self.embed_tokens = nn.Embedding(vocab_size, lc.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(lc, i) for i in range(lc.num_hidden_layers)])
        for layer in self.layers:
            layer.self_attn.is_causal = False
        self.norm = LlamaRMSNorm(lc.hidden_size, eps=lc.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(lc)
        self.vis_proj = nn.Linear(vision_dim, lc.hidden_size)
        self.out_proj = nn.Linear(lc.hidden_size, shared_dim)

    def forward(self, visual: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, nv, _ = visual.shape
        x = torch.cat([self.vis_proj(visual), self.embed_tokens(ids)], dim=1)
        keep = torch.cat([torch.ones(b, nv, dtype=mask.dtype, device=mask.device), mask], dim=1)  # [B, L]
        pos = torch.arange(x.size(1), device=x.device).unsqueeze(0).expand(b, -1)
        rope = self.rotary_emb(x, pos)
        additive = torch.zeros(b, 1, 1, x.size(1), dtype=x.dtype, device=x.device)
        additive = additive.masked_fill(keep[:, None, None, :] == 0, torch.finfo(x.dtype).min)
        for layer in self.layers:
            x = layer(x, attention_mask=additive, position_ids=pos, position_embeddings=rope)
        x = self.norm(x)
        w = keep.to(x.dtype).unsqueeze(-1)
        pooled = (x * w).sum(1) / w.sum(1)
        return self.out_proj(pooled)


class YEncoder(nn.Module):
    """Text encoder (BERT family): masked mean of the last hidden state, then a linear head."""

    def __init__(self, bert: BertModel, shared_dim: int):
        super().__init__()
        self.model = bert
        self.projector = nn.Linear(bert.config.hidden_size, shared_dim)

    def pooled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        w = mask.to(h.dtype).unsqueeze(-1)
        return (h * w).sum(1) / w.sum(1).clamp(min=1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.projector(self.pooled(ids, mask))


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float, keys: list[str] | None = None) -> torch.Tensor:
    """Bidirectional InfoNCE between L2-normalised rows of a and b. Rows that share an event key are not
    treated as negatives of each other (the same event can appear twice in a batch)."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = a @ b.t() / temperature
    if keys is not None:
        same = torch.tensor([[ki == kj and i != j for j, kj in enumerate(keys)] for i, ki in enumerate(keys)],
                            device=logits.device)
        logits = logits.masked_fill(same, torch.finfo(logits.dtype).min)
    target = torch.arange(a.size(0), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
