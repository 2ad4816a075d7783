#!/usr/bin/env bash
# Writes the seed corpora of the fuzz harnesses, Tools/fuzz/corpus/<harness>/, from the repository's fixtures,
# Samples/ (cut with ffmpeg) and libraries made by the built vjsearch. Rerun it after a format changes, then
# check `git diff --stat` and commit the seeds.
#
# Seeds named bad-* are damaged on purpose and must be refused; every other seed must be accepted
# (Tests/FuzzReplayTests checks both). Each seed stays well under 100 KB.
#
# Usage: Tools/fuzz/make-seeds.sh [harness...]   (default: all)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
corpus=Tools/fuzz/corpus
fixtures=Tests/JEPATests/Fixtures
tokenizers=Tests/NeuralTests/Fixtures/tokenizers

# Little-endian integers as raw bytes.
le32() { local v=$(($1 & 0xFFFFFFFF)) i; for i in 0 1 2 3; do printf "\\x$(printf %02x $(((v >> (8 * i)) & 255)))"; done; }
le64() { local v=$1 i; for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(((v >> (8 * i)) & 255)))"; done; }

fresh() { rm -rf "${corpus:?}/$1"; mkdir -p "$corpus/$1"; }

# safetensors FILE HEADER DATA_BYTES: the 8-byte header length, the JSON header, then DATA_BYTES bytes 0x3C.
safetensors_file() {
    { le64 ${#2}; printf '%s' "$2"; head -c "$3" /dev/zero | tr '\0' '\074'; } > "$1"
}

seeds_safetensors() {
    local d=$corpus/safetensors
    fresh safetensors
    cp $fixtures/bert/io.safetensors $d/bert-io.safetensors
    cp $fixtures/llama/io.safetensors $d/llama-io.safetensors
    cp $fixtures/gemma3/io.safetensors $d/gemma3-io.safetensors
    safetensors_file $d/empty.safetensors '{}' 0
    safetensors_file $d/dtypes.safetensors '{"__metadata__":{"format":"pt","note":"\u00e9"},"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]},"c":{"dtype":"U8","shape":[],"data_offsets":[14,15]},"d":{"dtype":"BOOL","shape":[0,7],"data_offsets":[15,15]},"e":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[15,16]},"f":{"dtype":"I64","shape":[1,1],"data_offsets":[16,24]}}' 24
    head -c 100 $fixtures/bert/io.safetensors > $d/bad-truncated.safetensors
    safetensors_file $d/bad-overlap.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
}

seeds_tokenizer_json() {
    local d=$corpus/tokenizer-json
    fresh tokenizer-json
    cp $fixtures/convert-hf-bert/tokenizer.json $d/bert-tiny.json
    cp $fixtures/convert-hf-gemma/tokenizer.json $d/gemma-tiny.json
    cp $tokenizers/mixed/tokenizer.json $d/mixed.json
    cp $tokenizers/llama3/tokenizer.json $d/llama3.json
    # The components no fixture uses: WordPiece behind every normalizer and pre-tokenizer kind, decoders in sequence.
    cat > $d/components.json <<'EOF'
{"version":"1.0","truncation":{"max_length":16},"padding":{"pad_id":0},
 "added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},
  {"id":2,"content":"<s>","special":true,"lstrip":true,"rstrip":true},{"id":9,"content":"fox","single_word":true,"normalized":true}],
 "normalizer":{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"BertNormalizer","lowercase":true},
  {"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "},{"type":"Prepend","prepend":"_"},{"type":"Strip"},{"type":"NFC"}]},
 "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Whitespace"},
  {"type":"Split","pattern":{"String":"-"},"behavior":"MergedWithNext","invert":false},
  {"type":"Split","pattern":{"Regex":"\\d"},"behavior":"Contiguous"},{"type":"BertPreTokenizer"}]},
 "post_processor":{"type":"RobertaProcessing","cls":["<s>",2],"sep":["</s>",3]},
 "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"_"},"content":" "},{"type":"ByteFallback"},
  {"type":"WordPiece","prefix":"##","cleanup":true},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
 "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":20,
  "vocab":{"[PAD]":0,"[UNK]":1,"<s>":2,"</s>":3,"_":4,"a":5,"b":6,"##a":7,"##b":8,"fox":9,"<0x41>":10,"1":11,"-":12}}}
EOF
    # Byte-level BPE with byte fallback and the ByteLevel decoder, as Llama-style files have.
    cat > $d/byte-level.json <<'EOF'
{"added_tokens":[{"id":7,"content":"<|end|>","special":true,"normalized":false}],
 "normalizer":null,
 "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
 "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|end|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
  "special_tokens":{"<|end|>":{"id":"<|end|>","ids":[7],"tokens":["<|end|>"]}}},
 "decoder":{"type":"ByteLevel"},
 "model":{"type":"BPE","dropout":null,"unk_token":null,"byte_fallback":true,"fuse_unk":true,"ignore_merges":true,
  "vocab":{"a":0,"b":1,"ab":2,"Ġ":3,"Ġab":4,"<0x20>":5,"c":6},"merges":["a b",["Ġ","ab"]]}}
EOF
    head -c 700 $fixtures/convert-hf-bert/tokenizer.json > $d/bad-truncated.json
}

seeds_tokenize() {
    local d=$corpus/tokenize
    fresh tokenize
    printf 'a red star falls slowly across the night sky' > $d/english.txt
    printf 'Caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\xa6\x8a don'"'"'t stop-the-music!! 3.14' > $d/scripts.txt
    printf 'supercalifragilisticexpialidocious%.0s' 1 2 3 4 5 > $d/long-word.txt
    printf 'ok \xff\xfe \xe6\x9d \xc0\x80 \xed\xa0\x80 end' > $d/invalid-utf8.txt
    printf 'tab\there\x00nul\x7fdel\xe2\x80\x8bzw\r\n[CLS] [SEP] [MASK]' > $d/controls.txt
    printf ' \t\n ' > $d/bad-whitespace.txt
}

seeds_config_json() {
    local d=$corpus/config-json
    fresh config-json
    cp Models/vljepa-mini/config.json $d/vljepa-mini.json
    cp Models/objects/config.json $d/objects.json
    cp $fixtures/vljepa-tiny-bert/config.json $d/tiny-bert.json
    cp $fixtures/vljepa-tiny-gemma/config.json $d/tiny-gemma.json
    cp $fixtures/convert-open-vljepa/config.json $d/open-vljepa.json
    sed 's/"frames" *: *[0-9]*/"frames": 0/' Models/vljepa-mini/config.json > $d/bad-no-frames.json
}

seeds_fvecs() {
    local d=$corpus/fvecs
    fresh fvecs
    # Two 3-d rows: (1, 2, -0.5) and (0, NaN, inf).
    { le32 3; le32 0x3F800000; le32 0x40000000; le32 0xBF000000
      le32 3; le32 0; le32 0x7FC00000; le32 0x7F800000; } > $d/two-rows.fvecs
    # Rows of 0, 2 and 1 ids: not an fvecs file (a first row of dimension 0), a valid ivecs one.
    { le32 0; le32 2; le32 7; le32 -1; le32 1; le32 42; } > $d/ragged.ivecs
    { le32 4; le32 1; le32 2; } > $d/bad-truncated.fvecs
}

# media: one-second cuts of Samples/bigbuckbunny-portrait.mp4, shrunk, in the containers and codecs users have.
seeds_media() {
    local d=$corpus/media src=Samples/bigbuckbunny-portrait.mp4
    fresh media
    local cut=(ffmpeg -nostdin -hide_banner -loglevel error -y -ss 0.5 -t 1)
    local out=(-fflags +bitexact -map_metadata -1 -vf scale=32:18,fps=6)
    "${cut[@]}" -i $src "${out[@]}" -an -c:v libx264 -preset veryfast -crf 40 $d/h264.mp4
    # Not turned upright: the display matrix (a quarter turn) stays for MediaFile to read.
    "${cut[@]}" -noautorotate -i $src "${out[@]}" -an -c:v libx264 -preset veryfast -crf 40 -movflags +faststart $d/rotated-faststart.mov
    "${cut[@]}" -i $src "${out[@]}" -c:v mpeg4 -q:v 20 -c:a aac -b:a 16k -ac 1 -ar 8000 $d/mpeg4-audio.mp4
    "${cut[@]}" -i $src "${out[@]}" -an -c:v libvpx-vp9 -b:v 20k -deadline realtime $d/vp9.webm
    "${cut[@]}" -i $src "${out[@]}" -an -c:v mjpeg -q:v 20 $d/mjpeg.avi
    "${cut[@]}" -i $src "${out[@]}" -an -c:v mpeg2video -q:v 20 -f mpegts $d/mpeg2.ts
    "${cut[@]}" -i $src "${out[@]}" -an $d/anim.gif
    head -c $(($(stat -c %s $d/h264.mp4) / 2)) $d/h264.mp4 > $d/bad-truncated.mp4
    printf 'not a video\n' > $d/bad-text.mp4
}

# lmdb: small real libraries made by the built vjsearch with the default model. A library is megabytes of
# mostly zero pages (the index allocates its link and slot chunks whole), so the seeds are stored gzipped:
# FuzzHarness.run(contentsOf:) and Tools/fuzz/run decompress them.
seeds_lmdb() {
    local d=$corpus/lmdb
    fresh lmdb
    swift build --product vjsearch >/dev/null
    local vjsearch scratch
    vjsearch="$(swift build --show-bin-path)/vjsearch"
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' RETURN
    mkdir -p $scratch/videos
    ffmpeg -nostdin -loglevel error -y -t 3 -i Samples/synth/samples_000002.mp4 -an -vf scale=64:64 -c:v libx264 -crf 40 $scratch/videos/a.mp4
    ffmpeg -nostdin -loglevel error -y -t 2 -i Samples/synth/samples_000001.mp4 -an -vf scale=64:64 -c:v libx264 -crf 40 $scratch/videos/b.mp4
    printf 'not a video\n' > $scratch/videos/c.mp4
    touch -d @1000000000 $scratch/videos/*
    local index=("$vjsearch" index --model vljepa-mini --threads 1)
    "${index[@]}" $scratch/videos/a.mp4 --library $scratch/one >/dev/null 2>&1
    gzip -9n < $scratch/one/data.mdb > $d/one-video.mdb.gz
    "${index[@]}" $scratch/videos --library $scratch/three >/dev/null 2>&1 || true   # c.mp4 fails: recorded as failed
    gzip -9n < $scratch/three/data.mdb > $d/with-failure.mdb.gz
    "$vjsearch" remove $scratch/videos/b.mp4 --library $scratch/three >/dev/null
    gzip -9n < $scratch/three/data.mdb > $d/after-remove.mdb.gz
}

# torch-checkpoint: the reader's fixtures (Tools/convert/make_checkpoint_fixtures.py); the hostile and broken ones as bad-*.
seeds_torch_checkpoint() {
    local d=$corpus/torch-checkpoint src=Tests/ConvertTests/Fixtures/checkpoints f
    fresh torch-checkpoint
    for f in state_dict mixed zip64; do cp $src/$f.pt $d/$f.pt; done
    for f in evil_os_system evil_builtins_eval evil_build compressed bigendian truncated not_zip; do cp $src/$f.pt $d/bad-$f.pt; done
}

harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(safetensors tokenizer-json tokenize config-json fvecs media lmdb torch-checkpoint)
for h in "${harnesses[@]}"; do
    "seeds_${h//-/_}"
    echo "$h: $(ls $corpus/$h | wc -l) seeds, $(du -sk $corpus/$h | cut -f1) KB"
done
