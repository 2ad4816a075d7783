#!/usr/bin/env python3
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

Usage: Tools/.venv/bin/python Tools/convert/make_fixtures.py [--stamp-with .build/debug/vjsearch] [output_dir]
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
    p.add_argument("out", nargs="?", default=os.path.join(ROOT, "Tests", "JEPATests", "Fixtures"))
    args = p.parse_args()
    stamp = args.stamp_with if os.path.isfile(args.stamp_with) else None
    if stamp is None:
        print(f"note: {args.stamp_with} not built; bundles are not stamped", file=sys.stderr)
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


if __name__ == "__main__":
    main()
