"""Writes the PyTorch checkpoint fixtures of the Swift reader (Sources/Convert/TorchCheckpoint.swift).

Into Tests/ConvertTests/Fixtures/checkpoints/ (a few KB in all):
  state_dict.pt        torch.save of an nn.Module's state_dict(): an OrderedDict carrying _metadata (BUILD), f32
  mixed.pt             torch.save of a dict shaped like open-vljepa's training checkpoint: epoch, loss, a config of
                       plain values (str, int past 2^31, negative, float, bool, None, list, tuple, nested dict) and a
                       plain-dict model_state_dict of bf16, f16, f32, f64, int64, int32 and bool tensors, with a
                       transposed view, two views at different offsets of one storage, a 0-d and an empty tensor
  zip64.pt             mixed.pt's entries re-zipped by hand with every ZIP64 record and field (sizes and offsets
                       0xFFFFFFFF in the central directory, ZIP64 extra fields, ZIP64 end record and locator), no
                       alignment padding and an archive comment; checked with zipfile and torch.load
  expected.json        for each good fixture: every tensor (dtype, shape, strides, offset, the float32 bit patterns
                       or ints that torch gives in row-major order, the contiguous bytes) and the plain values, tagged
                       with their Python types, as torch.load(weights_only=True) reads them
and the bad ones, each of which the reader must refuse:
  evil_os_system.pt    GLOBAL 'os system' + REDUCE, what a class whose __reduce__ returns (os.system, (cmd,)) pickles
                       to; cmd touches /tmp/vjsearch-evil-os-system
  evil_builtins_eval.pt  STACK_GLOBAL 'builtins' 'eval' + REDUCE (protocol 4); the code touches
                       /tmp/vjsearch-evil-builtins-eval
  evil_build.pt        BUILD on a list
  compressed.pt        state_dict.pt with its entries deflated
  bigendian.pt         state_dict.pt whose byteorder entry says "big"
  truncated.pt         mixed.pt cut in the middle
  not_zip.pt           the legacy format (torch.save(..., _use_new_zipfile_serialization=False)); its bytes differ run
                       to run (the legacy format names storages by memory address): only its refusal is tested

Usage: Tools/convert/make-fixtures checkpoints [output_dir]   (in the Tools venv)
"""
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import warnings
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Tools/
import tools_venv  # noqa: E402

tools_venv.ensure()
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
FLOATS = {torch.float32, torch.float64, torch.float16, torch.bfloat16}


def state_dict():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    return model.state_dict()


def mixed():
    torch.manual_seed(2)
    shared = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    model_state_dict = {
        "embed.weight": torch.randn(5, 4).to(torch.bfloat16),
        "proj.weight": torch.randn(3, 4).to(torch.float16),
        "proj.bias": torch.randn(3),
        "head.weight": torch.randn(4, 3).t(),                      # transposed: strides (1, 3)
        "shared.a": shared[2:8].view(2, 3),                        # offset 2 into one storage ...
        "shared.b": shared[12:20].view(4, 2).t(),                  # ... and offset 12, transposed, into the same
        "scale": torch.tensor(0.125),                              # 0-d
        "empty": torch.zeros(0, 3),
        "half.special": torch.tensor([6e-8, -0.0, float("inf"), 65504, -1.5], dtype=torch.float16),
        "double": torch.tensor([1 / 3, 1e-40, 3.4e39, -2.5], dtype=torch.float64),   # subnormal and inf as float
        "positions": torch.arange(6, dtype=torch.int64).view(2, 3) - 2,
        "counts": torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32),
        "mask": torch.tensor([True, False, True]),
    }
    config = {"name": "tiny-vljepa", "dim": 4, "lr": 1e-3, "use_bias": True, "dropout": None,
              "layers": [1, 2, 3], "big": 2**40, "neg": -7, "neg_big": -(2**35), "max_int": 2**63 - 1,
              "window": (16, 2), "nested": {"a": [1.5, "x", False], "empty": {}, "é": "ünïcode"}}
    return {"epoch": 3, "model_state_dict": model_state_dict, "loss": 0.25, "config": config}


def describe(value, tensors):
    """`value` tagged with its Python types; tensors go to `tensors` in depth-first order, referred to by index."""
    if value is None:
        return {"none": None}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": "%016x" % struct.unpack("<Q", struct.pack("<d", value))[0]}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, list):
        return {"list": [describe(v, tensors) for v in value]}
    if isinstance(value, tuple):
        return {"tuple": [describe(v, tensors) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[describe(k, tensors), describe(v, tensors)] for k, v in value.items()]}
    if isinstance(value, torch.Tensor):
        tensors.append(tensor_expectation(value))
        return {"tensor": len(tensors) - 1}
    raise TypeError(f"no fixture description for {type(value)}")


def tensor_expectation(t):
    flat = t.reshape(-1).contiguous()
    out = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "strides": list(t.stride()),
           "offset": t.storage_offset(), "bytes": bytes(flat.view(torch.uint8).numpy().tobytes()).hex()}
    if t.dtype in FLOATS:
        out["float_bits"] = flat.float().view(torch.int32).numpy().astype("uint32").tolist()
    else:
        out["ints"] = flat.to(torch.int64).tolist()
    return out


def expectation(path):
    tensors = []
    root = describe(torch.load(path, weights_only=True), tensors)
    return {"root": root, "tensors": tensors}


def save(obj, path, **kwargs):
    torch.save(obj, path, **kwargs)
    return path


def members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def rezip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=compression)


def zip64(path, entries, comment=b"vjsearch: every ZIP64 record"):
    """A stored zip whose central directory takes every size and offset from ZIP64 extra fields (APPNOTE 4.5.3),
    with a ZIP64 end record and locator (4.3.14, 4.3.15) and an end record of 0xFFFF/0xFFFFFFFF fields."""
    body, directory = io.BytesIO(), io.BytesIO()
    for name, data in entries:
        name_bytes, crc, offset = name.encode(), zlib.crc32(data), body.tell()
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name_bytes), len(local_extra)) + name_bytes + local_extra + data)
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                                    0xFFFFFFFF, len(name_bytes), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
                        + name_bytes + extra)
    start, size, count = body.tell(), directory.tell(), len(entries)
    record_at = start + size
    end = (struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size, start)
           + struct.pack("<IIQI", 0x07064B50, 0, record_at, 1)
           + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment))
           + comment)
    with open(path, "wb") as f:
        f.write(body.getvalue() + directory.getvalue() + end)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert [i.filename for i in archive.infolist()] == [name for name, _ in entries]


def torch_layout(path, folder, pickled):
    """A zip laid out as torch.save's, around a pickle made by hand."""
    rezip(path, [(f"{folder}/data.pkl", pickled), (f"{folder}/byteorder", b"little"), (f"{folder}/version", b"3\n")])


class OsSystem:
    def __reduce__(self):
        return os.system, ("touch /tmp/vjsearch-evil-os-system",)


class Eval:
    def __reduce__(self):
        return eval, ("__import__('os').system('touch /tmp/vjsearch-evil-builtins-eval')",)


def evil_os_system():
    # pickle writes os.system as 'posix system'; a hostile file says 'os system', which the reader must refuse too.
    data = pickle.dumps({"epoch": 1, "model_state_dict": {}, "payload": OsSystem()}, protocol=2)
    data = data.replace(b"cposix\nsystem\n", b"cos\nsystem\n")
    assert b"cos\nsystem\n" in data
    return data


def evil_builtins_eval():
    data = pickle.dumps({"epoch": 1, "payload": Eval()}, protocol=4)
    assert b"\x8c\x08builtins\x94\x8c\x04eval\x94\x93" in data
    return data


def evil_build():
    # {'x': []} then BUILD with a state dict on the list: Python would call list.__setstate__ or set attributes.
    data = b"\x80\x02}q\x00X\x01\x00\x00\x00x]q\x01}q\x02X\x06\x00\x00\x00appendK\x01sbs."
    pickletools.dis(data, out=io.StringIO())   # well formed: refused for what it does, not for its syntax
    return data


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "ConvertTests", "Fixtures", "checkpoints")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    p = lambda name: os.path.join(out, name)  # noqa: E731

    save(state_dict(), p("state_dict.pt"))
    save(mixed(), p("mixed.pt"))
    zip64(p("zip64.pt"), members(p("mixed.pt")))
    expected = {name: expectation(p(name)) for name in ["state_dict.pt", "mixed.pt", "zip64.pt"]}
    assert expected["zip64.pt"] == expected["mixed.pt"]
    shared = [t for t in expected["mixed.pt"]["tensors"] if t["offset"] in (2, 12) and t["dtype"] == "F32"]
    assert len(shared) == 2, "the shared-storage views must keep their offsets"
    with open(p("expected.json"), "w") as f:
        # One line per tensor and per fixture's values: small, and still readable in a diff.
        f.write("{\n")
        for i, (name, fixture) in enumerate(expected.items()):
            f.write(f' "{name}": {{\n  "root": {json.dumps(fixture["root"], ensure_ascii=False)},\n  "tensors": [\n')
            f.write(",\n".join("   " + json.dumps(t, separators=(",", ":")) for t in fixture["tensors"]))
            f.write("\n  ]\n }" + ("," if i < len(expected) - 1 else "") + "\n")
        f.write("}\n")
    with open(p("expected.json")) as f:
        assert json.load(f) == expected

    torch_layout(p("evil_os_system.pt"), "evil_os_system", evil_os_system())
    torch_layout(p("evil_builtins_eval.pt"), "evil_builtins_eval", evil_builtins_eval())
    torch_layout(p("evil_build.pt"), "evil_build", evil_build())
    rezip(p("compressed.pt"), members(p("state_dict.pt")), zipfile.ZIP_DEFLATED)
    rezip(p("bigendian.pt"), [(n, b"big" if n.endswith("/byteorder") else d) for n, d in members(p("state_dict.pt"))])
    with open(p("mixed.pt"), "rb") as f:
        whole = f.read()
    with open(p("truncated.pt"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    save({"weight": torch.ones(2)}, p("not_zip.pt"), _use_new_zipfile_serialization=False)

    # torch itself refuses the evil files when it loads only weights, and would run them otherwise.
    for name in ["evil_os_system.pt", "evil_builtins_eval.pt"]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # protocol 4 is not torch's default
                torch.load(p(name), weights_only=True)
            raise AssertionError(f"torch loaded {name}")
        except pickle.UnpicklingError:
            pass
    total = sum(os.path.getsize(p(n)) for n in os.listdir(out))
    print(f"{out}: {len(os.listdir(out))} files, {total} bytes")


if __name__ == "__main__":
    main()
