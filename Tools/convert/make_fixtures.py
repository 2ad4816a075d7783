"""Proves Tools/convert/convert.py on tiny random models and writes the converter fixtures.

In a temporary folder it builds, with transformers and the same key layouts and save paths as the public files:
  vjepa2/       VJEPA2Model.save_pretrained (encoder + its predictor, which the converter drops)
  llama/        LlamaForCausalLM.save_pretrained with tied embeddings (`model.` keys, no lm_head), 4 layers,
                plus a Llama-style tokenizer.json (adds its begin-of-text token)
  gemma/        Gemma3TextModel.save_pretrained with an EmbeddingGemma-like config (bidirectional, sliding window),
                modules.json, 2_Dense/ and 3_Dense/ (sentence-transformers Dense, `linear.weight`), tokenizer.json
  bert/         BertModel.save_pretrained (with its pooler, which the converter drops), WordPiece tokenizer.json
  best.pt       torch.save({config, model_state_dict, epoch}) in open-vljepa's key layout
then runs the converter three times (hf + EmbeddingGemma dense, hf + BERT, open-vljepa), and computes the expected
clip and text vectors with a PyTorch reference assembly (Tools/goldens/models.py's TinyVLJEPA) built from the
*source* models, not from the bundle, so a wrong layer choice, renaming or head would show.

Fixtures (Tests/JEPATests/Fixtures/convert-{hf-gemma,hf-bert,open-vljepa}/): the bundle (config.json,
model.safetensors, tokenizer.json, MODEL_CARD.md) and expected.safetensors + expected.json (captions).

Then, for the Swift converter (Tests/ConvertTests/Fixtures, see hub_fixtures): tiny look-alikes of the four downloads
of `vjsearch model install` under hub/ (cun-bjy/open-vljepa's best.pt saved as open-vljepa's train.py saves it,
facebook/vjepa2-vitl-fpc64-256, meta-llama/Llama-3.2-1B and google/embeddinggemma-300m in their own config.json
spellings), convert.py's stamped bundles made from them (f32 and bf16), and the Python answers to compare with: error
messages, config sections and tensor shapes, json.dump text, torch casts. These need a built vjsearch to stamp with.

Usage: Tools/convert/make-fixtures [--stamp-with .build/debug/vjsearch] [--hub-only]   (in the Tools venv)
                                                             [--hub-out DIR] [output_dir]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (BertConfig, BertModel, Gemma3TextConfig, Gemma3TextModel, LlamaConfig, LlamaForCausalLM,
                          VJEPA2Config, VJEPA2Model)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tools", "goldens"))
sys.path.insert(0, HERE)
import convert  # noqa: E402
from models import TinyVLJEPA  # noqa: E402

torch.set_grad_enabled(False)
CORPUS = ["a red ball rolls to the left.", "two blue cubes collide and stop.", "describe the video.",
          "Describe the video.", "the green square spins slowly.", "a small circle bounces twice."] * 4
CAPTIONS = ["a red ball rolls left.", "two cubes collide", "the green square spins slowly twice."]
SHARED = 12


def randomize(model, gemma=False):
    for name, p in model.named_parameters():
        if "norm" in name.lower() and name.endswith("weight") and not gemma:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.2 * torch.randn_like(p))


def bpe_tokenizer(specials, template, vocab):
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials,
                                                        show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(s, tok.token_to_id(s)) for s in specials if s in template])
    tok.decoder = decoders.BPEDecoder()
    assert tok.get_vocab_size() <= vocab, tok.get_vocab_size()
    return tok


def wordpiece_tokenizer(vocab):
    """A BERT-style tokenizer over a fixed word list (deterministic, unlike a trained one); `##s` splits plurals."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted({w.strip(".") for line in CORPUS for w in line.lower().split()})
    words = sorted({w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words} | {"##s", "."})
    tokens = specials + words
    assert len(tokens) <= vocab, len(tokens)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    tok.decoder = decoders.WordPiece()
    return tok


def build_vjepa2(d, seed):
    torch.manual_seed(seed)
    model = VJEPA2Model(VJEPA2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, mlp_ratio=2.0,
                                     patch_size=4, tubelet_size=2, crop_size=16, frames_per_clip=4, in_chans=3,
                                     layer_norm_eps=1e-6, qkv_bias=True, hidden_act="gelu", pred_hidden_size=8,
                                     pred_num_attention_heads=2, pred_num_hidden_layers=1,
                                     attn_implementation="eager")).eval()
    randomize(model)
    model.save_pretrained(d)
    return model


LLAMA_VOCAB = 64


def llama_hf_config(layers):
    return LlamaConfig(hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=8, intermediate_size=48, rms_norm_eps=1e-5, vocab_size=LLAMA_VOCAB,
                       rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0, low_freq_factor=1.0,
                                            high_freq_factor=4.0, original_max_position_embeddings=8192),
                       max_position_embeddings=131072, tie_word_embeddings=True, attn_implementation="eager",
                       bos_token_id=0, eos_token_id=1)


def build_llama(d, seed):
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_hf_config(4)).eval()
    randomize(model)
    model.save_pretrained(d)
    tok = bpe_tokenizer(["<|begin_of_text|>", "<|end_of_text|>", "<unk>"], "<|begin_of_text|> $A", LLAMA_VOCAB)
    tok.save(os.path.join(d, "tokenizer.json"))
    return model


GEMMA_VOCAB = 64


def gemma_hf_config():
    return Gemma3TextConfig(vocab_size=GEMMA_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            num_key_value_heads=1, head_dim=16, intermediate_size=40,
                            hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                            layer_types=["sliding_attention", "full_attention"], sliding_window=6,
                            use_bidirectional_attention=True, query_pre_attn_scalar=16,
                            rope_parameters=dict(full_attention=dict(rope_type="default", rope_theta=1000000.0),
                                                 sliding_attention=dict(rope_type="default", rope_theta=10000.0)),
                            max_position_embeddings=64, attn_implementation="eager", pad_token_id=0,
                            eos_token_id=1, bos_token_id=2)


def build_gemma(d, seed, dense):
    torch.manual_seed(seed)
    model = Gemma3TextModel(gemma_hf_config()).eval()
    randomize(model, gemma=True)
    model.save_pretrained(d)
    tok = bpe_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>"], "<bos> $A <eos>", GEMMA_VOCAB)
    tok.save(os.path.join(d, "tokenizer.json"))
    layers = []
    if dense:
        modules = [dict(idx=0, name="0", path="", type="sentence_transformers.models.Transformer"),
                   dict(idx=1, name="1", path="1_Pooling", type="sentence_transformers.models.Pooling")]
        width = 32
        for i, out in enumerate([64, 32]):
            folder = os.path.join(d, f"{i + 2}_Dense")
            os.makedirs(folder)
            layer = torch.nn.Linear(width, out, bias=False)
            layer.weight.copy_(0.2 * torch.randn_like(layer.weight))
            with open(os.path.join(folder, "config.json"), "w") as f:
                json.dump(dict(in_features=width, out_features=out, bias=False,
                               activation_function="torch.nn.modules.linear.Identity"), f)
            save_file({"linear.weight": layer.weight.contiguous()}, os.path.join(folder, "model.safetensors"))
            modules.append(dict(idx=i + 2, name=str(i + 2), path=f"{i + 2}_Dense",
                                type="sentence_transformers.models.Dense"))
            layers.append(layer)
            width = out
        modules.append(dict(idx=4, name="4", path="4_Normalize", type="sentence_transformers.models.Normalize"))
        with open(os.path.join(d, "modules.json"), "w") as f:
            json.dump(modules, f, indent=2)
    return model, layers


def build_bert(d, seed):
    torch.manual_seed(seed)
    model = BertModel(BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=48, hidden_act="gelu", max_position_embeddings=24,
                                 type_vocab_size=2, layer_norm_eps=1e-12, attn_implementation="eager")).eval()
    randomize(model)
    model.save_pretrained(d)
    wordpiece_tokenizer(64).save(os.path.join(d, "tokenizer.json"))
    return model


# ---------------------------------------------------------------- reference

def reference(vision, llama_model, text, dense_layers, heads, prompt_ids, eos, text_tok, max_tokens, seed):
    """Clip and text vectors from the source modules and the given head tensors, with TinyVLJEPA."""
    pcfg = dict(final_norm=True, pool="all_non_pad")
    dense_specs = [dict(in_features=l.in_features, out_features=l.out_features, bias=l.bias is not None,
                        activation="identity") for l in dense_layers]
    model = TinyVLJEPA(vision, llama_model, text, None, pcfg, SHARED, dense_specs).eval()
    for layer, source in zip(model.dense, dense_layers):
        layer.load_state_dict(source.state_dict())
    for prefix, m in [("predictor.vis_proj.", model.vis_proj), ("predictor.out_proj.", model.out_proj),
                      ("y_encoder.projector.", model.projector)]:
        for name, p in m.named_parameters():
            p.copy_(heads[prefix + name].float())
    video = torch.randn(2, 4, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    # Padded with eos like open-vljepa's prompt; the pad columns are masked.
    padded = torch.tensor(prompt_ids + [eos] * 3)
    valid = torch.arange(len(padded)) < len(prompt_ids)
    clip_vectors = model.embed_clips(video, padded, valid)
    text_tok.enable_truncation(max_tokens)  # keeps the special tokens, as transformers' tokenizers do
    rows = [text_tok.encode(c).ids for c in CAPTIONS]
    length = max(map(len, rows))
    ids = torch.tensor([r + [0] * (length - len(r)) for r in rows])
    text_valid = torch.arange(length)[None, :] < torch.tensor([len(r) for r in rows])[:, None]
    text_vectors = model.embed_texts(ids, text_valid)
    return dict(pixel_values_videos=video, prompt_ids=torch.tensor(prompt_ids), text_ids=ids,
                text_lengths=text_valid.sum(1), clip_vectors=clip_vectors, text_vectors=text_vectors)


def run_converter(argv, stamp_with):
    if stamp_with:
        argv += ["--stamp-with", stamp_with]
    assert convert.main(argv) == 0, argv


def finish(bundle, out_root, name, expected):
    d = os.path.join(out_root, name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(bundle, d)
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(dict(captions=CAPTIONS), f, indent=2)
        f.write("\n")


def source_llama(d, layers):
    model = LlamaForCausalLM.from_pretrained(d, attn_implementation="eager").eval().model
    model.layers = model.layers[-layers:]
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stamp-with", default=os.path.join(ROOT, ".build", "debug", "vjsearch"))
    p.add_argument("--hub-out", default=os.path.join(ROOT, "Tests", "ConvertTests", "Fixtures"),
                   help="folder for the open-vljepa hub look-alikes and the Python converter's bundles made from them")
    p.add_argument("--hub-only", action="store_true", help="write only the --hub-out fixtures")
    p.add_argument("out", nargs="?", default=os.path.join(ROOT, "Tests", "JEPATests", "Fixtures"))
    args = p.parse_args()
    stamp = args.stamp_with if os.path.isfile(args.stamp_with) else None
    if stamp is None:
        print(f"note: {args.stamp_with} not built; bundles are not stamped", file=sys.stderr)
    if not args.hub_only:
        jepa_fixtures(args, stamp)
    hub_fixtures(args.hub_out, stamp)


def jepa_fixtures(args, stamp):
    """The converter fixtures of Tests/JEPATests (converted bundles and the vectors PyTorch computes from them)."""
    tmp = tempfile.mkdtemp(prefix="vjsearch-convert-")
    try:
        src = {k: os.path.join(tmp, k) for k in ["vjepa2", "llama", "gemma", "bert", "ov-llama", "ov-gemma"]}
        build_vjepa2(src["vjepa2"], 1)
        build_llama(src["llama"], 2)
        build_gemma(src["gemma"], 3, dense=True)
        build_bert(src["bert"], 4)
        llama_tok = Tokenizer.from_file(os.path.join(src["llama"], "tokenizer.json"))
        prompt = llama_tok.encode(convert.RETRIEVAL_PROMPT).ids
        assert prompt[0] == llama_tok.token_to_id("<|begin_of_text|>") and len(prompt) > 2, prompt

        vision = VJEPA2Model.from_pretrained(src["vjepa2"], attn_implementation="eager").eval()

        # hf + EmbeddingGemma with its Dense layers
        out = os.path.join(tmp, "hf-gemma")
        run_converter(["hf", "--vjepa2", src["vjepa2"], "--llama", src["llama"], "--llama-layers", "2",
                       "--text", src["gemma"], "--text-family", "gemma3", "--embeddinggemma-dense",
                       "--shared-dim", str(SHARED), "--frames", "4", "--max-text-tokens", "16",
                       "--max-prompt-tokens", "16", "--seed", "5", "--name", "convert-hf-gemma", "--out", out], stamp)
        text = Gemma3TextModel.from_pretrained(src["gemma"], attn_implementation="eager").eval()
        dense = []
        for i, (o, n) in enumerate([(64, 32), (32, 64)]):
            layer = torch.nn.Linear(n, o, bias=False)
            layer.weight.copy_(load_file(os.path.join(src["gemma"], f"{i + 2}_Dense", "model.safetensors"))
                               ["linear.weight"])
            dense.append(layer)
        heads = load_file(os.path.join(out, "model.safetensors"))
        assert heads["predictor.vis_proj.bias"].abs().sum() == 0  # new heads: biases start at zero
        head_biases = {"predictor.vis_proj.bias", "predictor.out_proj.bias", "y_encoder.projector.bias"}
        heads = {k: v + 0.1 * torch.randn_like(v) if k in head_biases else v for k, v in heads.items()}
        save_file(heads, os.path.join(out, "model.safetensors"))  # non-zero biases so the test sees them
        if stamp:
            run_stamp(stamp, out)
        gemma_tok = Tokenizer.from_file(os.path.join(src["gemma"], "tokenizer.json"))
        finish(out, args.out, "convert-hf-gemma",
               reference(vision, source_llama(src["llama"], 2), text, dense, heads, prompt, 1, gemma_tok, 16, 6))

        # hf + BERT
        out = os.path.join(tmp, "hf-bert")
        run_converter(["hf", "--vjepa2", src["vjepa2"], "--llama", src["llama"], "--llama-layers", "3",
                       "--text", src["bert"], "--text-family", "bert", "--shared-dim", str(SHARED),
                       "--frames", "4", "--max-text-tokens", "16", "--max-prompt-tokens", "16", "--seed", "7",
                       "--name", "convert-hf-bert", "--out", out], stamp)
        heads = load_file(os.path.join(out, "model.safetensors"))
        bert = BertModel.from_pretrained(src["bert"], attn_implementation="eager").eval()
        bert_tok = Tokenizer.from_file(os.path.join(src["bert"], "tokenizer.json"))
        finish(out, args.out, "convert-hf-bert",
               reference(vision, source_llama(src["llama"], 3), bert, [], heads, prompt, 1, bert_tok, 16, 8))

        # open-vljepa: a trained-looking checkpoint with fresh predictor layers, heads and Y-encoder
        for k in ["ov-llama", "ov-gemma"]:
            os.makedirs(src[k])
        llama_hf_config(16).save_pretrained(src["ov-llama"])  # the full model's config; best.pt holds 2 layers
        shutil.copy(os.path.join(src["llama"], "tokenizer.json"), src["ov-llama"])
        gemma_hf_config().save_pretrained(src["ov-gemma"])
        shutil.copy(os.path.join(src["gemma"], "tokenizer.json"), src["ov-gemma"])
        torch.manual_seed(9)
        from transformers import LlamaModel
        predictor = LlamaModel(llama_hf_config(2)).eval()
        randomize(predictor)
        y = Gemma3TextModel(gemma_hf_config()).eval()
        randomize(y, gemma=True)
        state = {"predictor." + k: v for k, v in predictor.state_dict().items()}
        state["predictor.rotary_emb.inv_freq"] = predictor.rotary_emb.inv_freq.clone()
        state.update({"y_encoder.model." + k: v for k, v in y.state_dict().items()})
        for name, (o, i) in {"predictor.vis_proj": (32, 32), "predictor.out_proj": (SHARED, 32),
                             "y_encoder.projector": (SHARED, 32)}.items():
            state[name + ".weight"] = 0.2 * torch.randn(o, i)
            state[name + ".bias"] = 0.2 * torch.randn(o)
        checkpoint = os.path.join(tmp, "best.pt")
        ov_config = dict(encoder=dict(name="facebook/vjepa2-vitl-fpc64-256"),
                         predictor=dict(name="meta-llama/Llama-3.2-1B", num_layers=2),
                         y_encoder=dict(name="google/embeddinggemma-300m"),
                         data=dict(num_frames=4, max_query_len=16, max_caption_len=16))
        torch.save(dict(config=ov_config, model_state_dict=state, epoch=3, best_recall=0.0), checkpoint)
        out = os.path.join(tmp, "open-vljepa")
        ov_args = ["open-vljepa", "--checkpoint", checkpoint, "--vjepa2", src["vjepa2"],
                   "--llama-tokenizer", src["ov-llama"], "--gemma-tokenizer", src["ov-gemma"],
                   "--name", "convert-open-vljepa"]  # frames and lengths from the checkpoint's data section
        run_converter(ov_args + ["--out", out], stamp)
        finish(out, args.out, "convert-open-vljepa",
               reference(vision, predictor, y, [], state, prompt, 1, gemma_tok, 16, 10))

        # x_encoder.model.* inside best.pt wins over the folder: same bundle weights when they agree, theirs
        # when they differ.
        state_x = dict(state)
        vstate = vision.state_dict()
        state_x.update({"x_encoder.model." + k: v + 1 for k, v in vstate.items()})
        torch.save(dict(config=ov_config, model_state_dict=state_x), checkpoint)
        out_x = os.path.join(tmp, "open-vljepa-x")
        assert convert.main(ov_args[:2] + [checkpoint] + ov_args[3:] + ["--out", out_x]) == 0
        wx = load_file(os.path.join(out_x, "model.safetensors"))
        assert torch.equal(wx["x_encoder.layernorm.weight"], vstate["encoder.layernorm.weight"] + 1)

        # Errors name the file and the tensor.
        del state["predictor.layers.1.mlp.up_proj.weight"]
        state["y_encoder.projector.weight"] = state["y_encoder.projector.weight"].t().contiguous()
        torch.save(dict(config=ov_config, model_state_dict=state), checkpoint)
        try:
            convert.convert_open_vljepa(convert.main.__globals__["argparse"].Namespace(
                checkpoint=checkpoint, vjepa2=src["vjepa2"], llama_tokenizer=src["ov-llama"],
                gemma_tokenizer=src["ov-gemma"], max_prompt_tokens=16, max_text_tokens=16, frames=4, fps=2.0,
                stride=None, resize=None, prompt=convert.RETRIEVAL_PROMPT, name=None))
            raise AssertionError("a missing tensor was accepted")
        except convert.ConvertError as e:
            assert checkpoint in str(e) and "predictor.layers.1.mlp.up_proj.weight" in str(e), e
        print("wrote converter fixtures to", args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_stamp(stamp, out):
    import subprocess
    subprocess.run([stamp, "model", "stamp", out], check=True, capture_output=True)


# ---------------------------------------------------------------- open-vljepa hub look-alikes (Tests/ConvertTests)
#
# Tiny folders laid out and spelled like the four public downloads that `vjsearch model install` converts, the Python
# converter's bundles made from them (what the Swift converter must equal byte for byte), and the Python answers the
# Swift tests compare with: converter error messages, config sections and tensor shapes, json.dump text and torch
# casts.

HUB_SHARED = 12
HUB_LLAMA_VOCAB = 320
HUB_GEMMA_VOCAB = 96
HUB_PREDICTOR_LAYERS = 2
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def write_json(path, obj, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, **kwargs)
        f.write("\n")


def llama3_tokenizer():
    """Llama 3's pipeline: its Split regex then ByteLevel, BPE over all 256 byte symbols with ignore_merges, the
    special tokens after the vocabulary, and a template that adds <|begin_of_text|>."""
    from tokenizers import Regex
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, show_progress=False,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    tok.decoder = decoders.ByteLevel()
    assert tok.get_vocab_size() <= HUB_LLAMA_VOCAB
    return tok


def gemma_tokenizer():
    """Gemma's pipeline in small: spaces to ▁, BPE, <bos> … <eos> (pad 0, eos 1, bos 2, unk 3)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=HUB_GEMMA_VOCAB, show_progress=False,
                                                        special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>",
                                                       special_tokens=[("<bos>", 2), ("<eos>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse()])
    assert tok.get_vocab_size() <= HUB_GEMMA_VOCAB
    return tok


def hub_llama_config(bos, eos):
    """meta-llama/Llama-3.2-1B's config.json, key for key in its own (transformers 4.45) spelling, at tiny sizes."""
    return {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
            "bos_token_id": bos, "eos_token_id": eos, "head_dim": 8, "hidden_act": "silu", "hidden_size": 32,
            "initializer_range": 0.02, "intermediate_size": 48, "max_position_embeddings": 131072, "mlp_bias": False,
            "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 16, "num_key_value_heads": 2,
            "pretraining_tp": 1, "rms_norm_eps": 1e-05,
            "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                             "original_max_position_embeddings": 8192, "rope_type": "llama3"},
            "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
            "transformers_version": "4.45.0.dev0", "use_cache": True, "vocab_size": HUB_LLAMA_VOCAB}


def hub_gemma_config():
    """google/embeddinggemma-300m's config.json in its own spelling, at tiny sizes."""
    return {"_sliding_window_pattern": 6, "architectures": ["Gemma3TextModel"], "attention_bias": False,
            "attention_dropout": 0.0, "attn_logit_softcapping": None, "bos_token_id": 2, "dtype": "float32",
            "eos_token_id": 1, "final_logit_softcapping": None, "head_dim": 16,
            "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 32, "initializer_range": 0.02,
            "intermediate_size": 40, "layer_types": ["sliding_attention", "full_attention"],
            "max_position_embeddings": 2048, "model_type": "gemma3_text", "num_attention_heads": 2,
            "num_hidden_layers": 2, "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 16,
            "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0, "rope_scaling": None, "rope_theta": 1000000.0,
            "sliding_window": 8, "transformers_version": "4.57.0.dev0", "use_bidirectional_attention": True,
            "use_cache": True, "vocab_size": HUB_GEMMA_VOCAB}


def hub_vjepa2_config():
    return VJEPA2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2.5, patch_size=4,
                        tubelet_size=2, crop_size=16, frames_per_clip=4, in_chans=3, layer_norm_eps=1e-6,
                        qkv_bias=True, hidden_act="gelu", pred_hidden_size=8, pred_num_attention_heads=2,
                        pred_num_hidden_layers=1)


def open_vljepa_config():
    """A training config shaped like open-vljepa's configs/base.yaml, as train.py saves it in best.pt."""
    return {
        "encoder": {"type": "vjepa2-vitl", "model_name": "facebook/vjepa2-vitl-fpc64-256", "frozen": True,
                    "output_dim": None},
        "y_encoder": {"type": "embeddinggemma", "model_name": "google/embeddinggemma-300m", "proj_dim": HUB_SHARED,
                      "max_target_len": 512, "lr_multiplier": 0.05},
        "predictor": {"type": "llama", "llama_name": "meta-llama/Llama-3.2-1B", "n_keep_layers": HUB_PREDICTOR_LAYERS,
                      "proj_dim": HUB_SHARED, "max_query_len": 512, "disable_causal_mask": True},
        "data": {"dataset": "msrvtt", "data_dir": "/data/msrvtt", "num_frames": 4, "image_size": 16,
                 "max_query_len": 16, "max_caption_len": 24, "batch_size": 64, "num_workers": 4},
        "training": {"epochs": 50, "lr": 1.0e-4, "schedule": "warmup_constant", "weight_decay": 0.01,
                     "warmup_steps": 1000, "temperature": 0.07, "grad_clip": 1.0, "bf16": True,
                     "gradient_accumulation_steps": 1, "gradient_checkpointing": True, "device": "cuda:0",
                     "checkpoint_dir": "checkpoints_bs64_lr1e4/", "log_every": 100, "save_every": 5,
                     "keep_last_n": 3, "save_optimizer_state": False},
        "eval": {"batch_size": 8, "metrics": ["R@1", "R@5", "R@10"], "every_n_epochs": 1, "at_epochs": None,
                 "n_videos": 500, "max_seconds": None},
    }


class OpenVLJEPALookAlike(torch.nn.Module):
    """open-vljepa's module tree, built the way its train.py builds it with bf16: the Llama and Gemma parts loaded
    in bfloat16, the new heads (vis_proj, out_proj, projector) in float32, the frozen V-JEPA 2 in float32."""

    def __init__(self, vjepa2_dir, llama_config, gemma_config):
        super().__init__()
        self.x_encoder = torch.nn.Module()
        self.x_encoder.model = VJEPA2Model.from_pretrained(vjepa2_dir, attn_implementation="eager").eval()
        full = LlamaForCausalLM(llama_config)
        randomize(full)
        base = full.model.to(torch.bfloat16)
        self.predictor = torch.nn.Module()
        self.predictor.embed_tokens = base.embed_tokens
        self.predictor.layers = torch.nn.ModuleList(list(base.layers[-HUB_PREDICTOR_LAYERS:]))
        self.predictor.norm = base.norm
        self.predictor.rotary_emb = base.rotary_emb
        # Checkpoints written with older transformers carry the RoPE table; the converter must skip it.
        self.predictor.rotary_emb.register_buffer("inv_freq", base.rotary_emb.inv_freq.clone(), persistent=True)
        self.predictor.vis_proj = torch.nn.Linear(self.x_encoder.model.config.hidden_size, llama_config.hidden_size)
        self.predictor.out_proj = torch.nn.Linear(llama_config.hidden_size, HUB_SHARED)
        self.y_encoder = torch.nn.Module()
        self.y_encoder.model = Gemma3TextModel(gemma_config)
        randomize(self.y_encoder.model, gemma=True)
        self.y_encoder.model.to(torch.bfloat16)
        self.y_encoder.projector = torch.nn.Linear(gemma_config.hidden_size, HUB_SHARED)
        for head in [self.predictor.vis_proj, self.predictor.out_proj, self.y_encoder.projector]:
            head.weight.copy_(0.2 * torch.randn_like(head.weight))
            head.bias.copy_(0.2 * torch.randn_like(head.bias))


def build_hub(hub):
    """The four repositories, as `huggingface-cli download` leaves them."""
    shutil.rmtree(hub, ignore_errors=True)
    d = {"vjepa2": os.path.join(hub, "facebook", "vjepa2-vitl-fpc64-256"),
         "llama": os.path.join(hub, "meta-llama", "Llama-3.2-1B"),
         "gemma": os.path.join(hub, "google", "embeddinggemma-300m"),
         "best": os.path.join(hub, "cun-bjy", "open-vljepa")}
    for folder in d.values():
        os.makedirs(folder)
    torch.manual_seed(21)
    vjepa2 = VJEPA2Model(hub_vjepa2_config()).eval()
    randomize(vjepa2)
    vjepa2.save_pretrained(d["vjepa2"])
    llama_tok = llama3_tokenizer()
    llama_tok.save(os.path.join(d["llama"], "tokenizer.json"))
    write_json(os.path.join(d["llama"], "config.json"),
               hub_llama_config(llama_tok.token_to_id("<|begin_of_text|>"), llama_tok.token_to_id("<|end_of_text|>")),
               indent=2, sort_keys=True)
    gemma_tokenizer().save(os.path.join(d["gemma"], "tokenizer.json"))
    write_json(os.path.join(d["gemma"], "config.json"), hub_gemma_config(), indent=2, sort_keys=True)
    torch.manual_seed(22)
    model = OpenVLJEPALookAlike(d["vjepa2"], LlamaConfig.from_pretrained(d["llama"]),
                                Gemma3TextConfig.from_pretrained(d["gemma"]))
    # train.py: best.pt keeps everything but the frozen X-encoder.
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("x_encoder.model.")}
    torch.save({"epoch": 7, "model_state_dict": state, "loss": 1.2345678, "config": open_vljepa_config()},
               os.path.join(d["best"], "best.pt"))
    return d, state, model.x_encoder.model.state_dict()


def open_vljepa_args(d, checkpoint, out, *extra):
    return ["open-vljepa", "--checkpoint", checkpoint, "--vjepa2", d["vjepa2"], "--llama-tokenizer", d["llama"],
            "--gemma-tokenizer", d["gemma"], "--out", out, *extra]


def mutated(state, case):
    """`state` changed as a case of open-vljepa-cases.json says (the Swift test applies the same operations)."""
    out = dict(state)
    for k in case.get("delete", []):
        del out[k]
    for k in case.get("transpose", []):
        out[k] = out[k].t().contiguous()
    for new, source in case.get("copy", {}).items():
        out[new] = out[source].clone()
    for old, new in case.get("rename", {}).items():
        out = {(new + k[len(old):] if k.startswith(old) else k): v for k, v in out.items()}
    return out


OPEN_VLJEPA_CASES = [
    {"name": "missing predictor tensor", "delete": ["predictor.layers.1.mlp.up_proj.weight"]},
    {"name": "missing out_proj", "delete": ["predictor.out_proj.weight"]},
    {"name": "missing text tensor", "delete": ["y_encoder.model.norm.weight"]},
    {"name": "misshapen head", "transpose": ["y_encoder.projector.weight"]},
    {"name": "misshapen predictor tensor", "transpose": ["predictor.layers.0.self_attn.k_proj.weight"]},
    {"name": "misshapen text tensor", "transpose": ["y_encoder.model.layers.1.mlp.down_proj.weight"]},
    {"name": "unexpected tensors", "copy": {"y_encoder.extra.weight": "y_encoder.projector.weight",
                                            "predictor.extra_scale": "predictor.norm.weight"}},
    {"name": "many unexpected tensors", "copy": {f"y_encoder.head{i}.weight": "y_encoder.projector.weight"
                                                 for i in [3, 1, 6, 2, 5, 4, 0]}},
    {"name": "x_encoder projector", "copy": {"x_encoder.projector.weight": "predictor.vis_proj.weight"}},
    {"name": "layers not numbered from 0", "rename": {"predictor.layers.1.": "predictor.layers.2."}},
    {"name": "no predictor layers", "rename": {"predictor.layers.": "predictor.blocks."}},
]


def open_vljepa_cases(d, state, vision_state, tmp):
    """The Python converter's message for each broken checkpoint, and its MODEL_CARD.md when best.pt carries the
    X-encoder."""
    checkpoint = os.path.join(tmp, "best.pt")
    cases = []
    for case in OPEN_VLJEPA_CASES:
        torch.save({"model_state_dict": mutated(state, case), "config": open_vljepa_config()}, checkpoint)
        try:
            convert.convert_open_vljepa(argparse.Namespace(
                checkpoint=checkpoint, vjepa2=d["vjepa2"], llama_tokenizer=d["llama"], gemma_tokenizer=d["gemma"],
                max_prompt_tokens=None, max_text_tokens=None, frames=None, fps=2.0, stride=None, resize=None,
                prompt=convert.RETRIEVAL_PROMPT, name=None))
            raise AssertionError(f"{case['name']}: accepted")
        except convert.ConvertError as e:
            assert str(e).startswith(checkpoint + ": "), e
            cases.append({**case, "message": "{checkpoint}" + str(e)[len(checkpoint):]})
    with_encoder = dict(state)
    with_encoder.update({"x_encoder.model." + k: v for k, v in vision_state.items()})
    torch.save({"model_state_dict": with_encoder, "config": open_vljepa_config()}, checkpoint)
    out = os.path.join(tmp, "with-encoder")
    assert convert.main(open_vljepa_args(d, checkpoint, out)) == 0
    with open(os.path.join(out, "MODEL_CARD.md"), encoding="utf-8") as f:
        card = f.read()
    return {"cases": cases, "x_encoder_card": card}


def config_cases(d, tmp):
    """Bundle sections and tensor shapes that convert.py derives from config.json files in both RoPE spellings and
    with transformers' defaults filled in, or its error message ({path} for the config file)."""
    with open(os.path.join(d["vjepa2"], "config.json")) as f:
        hub_vjepa2 = json.load(f)
    with open(os.path.join(d["llama"], "config.json")) as f:
        hub_llama = json.load(f)
    with open(os.path.join(d["gemma"], "config.json")) as f:
        hub_gemma = json.load(f)
    llama3 = {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
              "original_max_position_embeddings": 8192, "rope_type": "llama3"}
    small_llama = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 48, "vocab_size": 64,
                   "num_hidden_layers": 4, "model_type": "llama"}
    small_gemma = {k: v for k, v in hub_gemma.items() if k not in ("rope_theta", "rope_local_base_freq",
                                                                    "rope_scaling", "layer_types")}
    cases = [
        ("vjepa2", "hub", hub_vjepa2),
        ("vjepa2", "defaults", {"model_type": "vjepa2", "num_hidden_layers": 1}),
        ("vjepa2", "int mlp_ratio", {"hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1,
                                     "mlp_ratio": 3, "layer_norm_eps": 1e-5, "qkv_bias": False, "patch_size": 4,
                                     "crop_size": 16}),
        ("vjepa2", "other model type", {**hub_vjepa2, "model_type": "vit"}),
        ("llama", "hub (rope_scaling + rope_theta)", hub_llama),
        ("llama", "rope_parameters", {**{k: v for k, v in hub_llama.items() if k not in ("rope_scaling", "rope_theta")},
                                      "rope_parameters": {**llama3, "rope_theta": 500000.0}}),
        ("llama", "llama3 under the old 'type' key",
         {**small_llama, "rope_theta": 500000, "max_position_embeddings": 131072,
          "rope_scaling": {k if k != "rope_type" else "type": v for k, v in llama3.items()}}),
        ("llama", "llama3 without original_max_position_embeddings",
         {**small_llama, "max_position_embeddings": 4096, "rope_theta": 500000.0,
          "rope_scaling": {k: v for k, v in llama3.items() if k != "original_max_position_embeddings"}}),
        ("llama", "defaults", small_llama),
        ("llama", "null rope_scaling", {**small_llama, "rope_scaling": None, "rope_theta": 250000,
                                        "num_key_value_heads": None, "head_dim": None, "rms_norm_eps": 1e-05,
                                        "attention_bias": True, "mlp_bias": True}),
        ("llama", "linear rope", {**small_llama, "rope_scaling": {"type": "linear", "factor": 2.0}}),
        ("gemma3", "hub (rope_theta + rope_local_base_freq)", hub_gemma),
        ("gemma3", "rope_parameters", {**small_gemma, "layer_types": ["sliding_attention", "full_attention"],
                                       "rope_parameters": {
                                           "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                                           "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}),
        ("gemma3", "default thetas, layer types from the pattern",
         {**small_gemma, "num_hidden_layers": 7, "sliding_window_pattern": 3}),
        ("gemma3", "int thetas, default pattern", {**small_gemma, "num_hidden_layers": 7, "rope_theta": 1000000,
                                                   "rope_local_base_freq": 10000, "attention_bias": True}),
        ("gemma3", "not bidirectional", {**hub_gemma, "use_bidirectional_attention": False}),
    ]
    out = []
    for i, (family, name, config) in enumerate(cases):
        folder = os.path.join(tmp, f"config-{i}")
        write_json(os.path.join(folder, "config.json"), config, indent=2)
        path = os.path.join(folder, "config.json")
        case = {"family": family, "name": name, "config": config}
        try:
            if family == "vjepa2":
                c, section = convert.vision_section(folder)
                shapes = {k[len("encoder."):]: v for k, v in convert.expected_shapes(VJEPA2Model, c).items()
                          if k.startswith("encoder.")}
            elif family == "llama":
                c, section = convert.llama_section(folder, HUB_PREDICTOR_LAYERS, 16)
                shapes = convert.llama_shapes(c, HUB_PREDICTOR_LAYERS)
            else:
                c, section = convert.gemma3_section(folder, 24)
                shapes = convert.text_shapes("gemma3", c)
            case["dump"] = json.dumps(section, indent=2, sort_keys=True) + "\n"
            case["shapes"] = [[k, list(v)] for k, v in shapes.items()]
        except convert.ConvertError as e:
            assert str(e).startswith(path + ": "), e
            case["error"] = "{path}" + str(e)[len(path):]
        out.append(case)
    return out


def python_json_cases():
    """Values and the text json.dump(value, indent=2, sort_keys=True) + "\\n" gives for them."""
    import random
    import struct
    rng = random.Random(5)
    floats = [0.0, -0.0, 1.0, 2.0, 0.5, 500000.0, 1e-05, 1e-06, 0.485, 0.456, 0.406, 0.229, 0.224, 0.225, 0.1 + 0.2,
              1 / 3, 2.0 ** 53, 2.0 ** 53 + 2, 1e15, 1e16, 9999999999999998.0, 1e21, 1e22, 1e100, 0.0001, 0.00001,
              0.00012345, 1.5e-07, 123456789.125, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
              float("inf"), float("-inf"), float("nan"), 4.35, 0.3, 2.675, 1e23, 8.41e21, 5e-05, 123.456e-10]
    while len(floats) < 600:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if x == x and abs(x) != float("inf"):
            floats.append(x)
    for _ in range(400):
        floats.append(round(rng.uniform(-1000, 1000), rng.randint(0, 8)))
        floats.append(rng.random() * 10 ** rng.randint(-12, 20))
    values = [
        floats,
        {"b": 1, "a": [], "é": {}, "Z": True, "aa": {"": [None, False, {}]}, "a b": -7, "\u00ff": 2 ** 62,
         "😀": "x", "\u2028": 1, "A": {"nested": [[], [[]], {"k": []}]}},
        ["plain", "quote \" and backslash \\", "\b\f\n\r\t", "\u0000\u0001\u001f\u007f\u0080", "é日本", "😀 𝄞",
         "</script>", "\u2028\u2029", "\ud7ff\ue000\uffff", "", "tab\tend"],
        [0, 1, -1, 9007199254740993, -9223372036854775808, 9223372036854775807, True, False, None],
        {}, [], "top", 3, 2.5, None,
    ]
    return [{"input": json.dumps(v), "dump": json.dumps(v, indent=2, sort_keys=True) + "\n"} for v in values]


def cast_fixture(path):
    """Float32 values with their bits after torch's `.to(bfloat16)` and `.to(float16)`: halfway cases, carries into
    the exponent, overflow, subnormals, NaNs."""
    g = torch.Generator().manual_seed(6)
    bits = torch.randint(-2 ** 31, 2 ** 31, (4096,), generator=g, dtype=torch.int64)
    special = [0x3F808000, 0x3F818000, 0x3F80_7FFF, 0x7F7FFFFF, 0x477FE000, 0x477FF000, 0x477FEFFF, 0x387FC000,
               0x33800000, 0x33000000, 0x00000001, 0x80000001, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
               0x7F800001, 0xFF812345, 0x7FA00000, 0x3F7FFFFF, 0x3F800001, 0x00800000, 0x80000000, 0x00000000]
    bits = torch.cat([torch.tensor(special, dtype=torch.int64), bits, torch.randint(0x30000000, 0x48000000, (2048,),
                                                                                  generator=g, dtype=torch.int64)])
    source = bits.to(torch.int32).view(torch.float32)
    save_file({"source": source.contiguous(), "bf16": source.to(torch.bfloat16).contiguous(),
               "f16": source.to(torch.float16).contiguous()}, path)


def hub_fixtures(out_root, stamp):
    """Tests/ConvertTests/Fixtures: hub/ (look-alike downloads), hub-variants/ (the V-JEPA 2 folder as
    pytorch_model.bin), open-vljepa-expected{,-bf16}/ (convert.py's bundles), open-vljepa-unstamped-config.json,
    open-vljepa-cases.json, hf-config-cases.json, python-json-cases.json and casts.safetensors."""
    if stamp is None:
        raise SystemExit("the open-vljepa fixtures need --stamp-with (a built vjsearch): the Swift converter stamps")
    tmp = tempfile.mkdtemp(prefix="vjsearch-hub-")
    try:
        d, state, vision_state = build_hub(os.path.join(out_root, "hub"))
        checkpoint = os.path.join(d["best"], "best.pt")
        for name, extra in [("open-vljepa-expected", []), ("open-vljepa-expected-bf16", ["--dtype", "bf16"])]:
            bundle = os.path.join(tmp, name)
            run_converter(open_vljepa_args(d, checkpoint, bundle, *extra), stamp)
            target = os.path.join(out_root, name)
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            for file in ["config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"]:
                shutil.copyfile(os.path.join(bundle, file), os.path.join(target, file))
        # The V-JEPA 2 folder as older transformers saved it (pytorch_model.bin): the same bundle.
        variants = os.path.join(out_root, "hub-variants")
        shutil.rmtree(variants, ignore_errors=True)
        legacy = os.path.join(variants, "pytorch-bin", "vjepa2-vitl-fpc64-256")
        os.makedirs(legacy)
        shutil.copyfile(os.path.join(d["vjepa2"], "config.json"), os.path.join(legacy, "config.json"))
        torch.save(vision_state, os.path.join(legacy, "pytorch_model.bin"))
        from_legacy = os.path.join(tmp, "from-legacy")
        assert convert.main(open_vljepa_args({**d, "vjepa2": legacy}, checkpoint, from_legacy)) == 0
        with open(os.path.join(from_legacy, "model.safetensors"), "rb") as a, \
                open(os.path.join(out_root, "open-vljepa-expected", "model.safetensors"), "rb") as b:
            assert a.read() == b.read()
        unstamped = os.path.join(tmp, "unstamped")
        assert convert.main(open_vljepa_args(d, checkpoint, unstamped)) == 0
        shutil.copyfile(os.path.join(unstamped, "config.json"), os.path.join(out_root, "open-vljepa-unstamped-config.json"))
        write_json(os.path.join(out_root, "open-vljepa-cases.json"), open_vljepa_cases(d, state, vision_state, tmp),
                   indent=2, ensure_ascii=False)
        write_json(os.path.join(out_root, "hf-config-cases.json"), config_cases(d, tmp), indent=1)
        write_json(os.path.join(out_root, "python-json-cases.json"), python_json_cases(), indent=1)
        cast_fixture(os.path.join(out_root, "casts.safetensors"))
        print("wrote open-vljepa hub fixtures to", out_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
