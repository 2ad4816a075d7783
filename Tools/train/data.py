"""Training data for vljepa-mini: synthetic reels decoded once into a frame cache, then sampled as clips.

Frames are decoded by the `ffmpeg` command line with the same transform as the Swift `Media` pipeline
(resize the shorter side to `resize`, centre-crop `size`×`size`, bilinear) at `cache_fps`, and kept as uint8
in one memory-mapped array per split. A clip is `frames` frames spread uniformly inside a window of `window`
seconds: frame i sits at start + (i + 0.5)·window/frames, the nearest cached frame is taken.
"""
from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class ClipSpec:
    frames: int
    window: float
    size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @staticmethod
    def from_config(c: dict) -> "ClipSpec":
        return ClipSpec(c["frames"], c["window"], c["size"], c["resize"], tuple(c["mean"]), tuple(c["std"]))


def decode(path: Path, spec: ClipSpec, fps: int) -> np.ndarray:
    """[N, size, size, 3] uint8 frames of `path` at `fps`, resized and centre-cropped like the Swift pipeline."""
    vf = (f"fps={fps},scale=w='if(lt(iw,ih),{spec.resize},-2)':h='if(lt(iw,ih),-2,{spec.resize})':"
          f"flags=bilinear,crop={spec.size}:{spec.size}")
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", vf, "-pix_fmt", "rgb24", "-f", "rawvideo",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, spec.size, spec.size, 3)


@dataclass
class EventRecord:
    reel: int
    start: float
    end: float
    key: str
    captions: list[str]
    event: dict  # the world's attributes (`world.Event.to_json`): what questions are asked from


class FrameCache:
    """All reels of one split decoded at `fps` into one uint8 memmap, with per-reel offsets and events."""

    def __init__(self, synth_dir: Path, split: str, spec: ClipSpec, fps: int, cache_dir: Path, jobs: int = 2):
        self.spec, self.fps = spec, fps
        manifest = [json.loads(x) for x in (synth_dir / f"{split}.jsonl").read_text().splitlines() if x.strip()]
        manifest.sort(key=lambda r: r["video"])
        self.reels = manifest
        cache_dir.mkdir(parents=True, exist_ok=True)
        tag = f"{split}_{spec.size}_{spec.resize}_{fps}_{len(manifest)}"
        data_path, index_path = cache_dir / f"{tag}.u8", cache_dir / f"{tag}.json"
        if not index_path.exists():
            with ThreadPoolExecutor(jobs) as pool:
                decoded = list(pool.map(lambda r: decode(synth_dir / r["video"], spec, fps), manifest))
            offsets = np.cumsum([0] + [len(d) for d in decoded]).tolist()
            mm = np.memmap(data_path, dtype=np.uint8, mode="w+", shape=(offsets[-1], spec.size, spec.size, 3))
            for d, o in zip(decoded, offsets):
                mm[o:o + len(d)] = d
            mm.flush()
            del mm, decoded
            index_path.write_text(json.dumps({"offsets": offsets}))
        self.offsets = json.loads(index_path.read_text())["offsets"]
        self.frames = np.memmap(data_path, dtype=np.uint8, mode="r",
                                shape=(self.offsets[-1], spec.size, spec.size, 3))
        self.events = [EventRecord(i, e["start"], e["end"], e["key"], e["captions"], e["event"])
                       for i, r in enumerate(manifest) for e in r["events"]]
        self.mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.std).view(1, 3, 1, 1)

    def duration(self, reel: int) -> float:
        return (self.offsets[reel + 1] - self.offsets[reel]) / self.fps

    def clip_u8(self, reel: int, start: float) -> np.ndarray:
        """[frames, size, size, 3] uint8 for the window starting at `start` seconds."""
        s = self.spec
        n = self.offsets[reel + 1] - self.offsets[reel]
        t = start + (np.arange(s.frames) + 0.5) * s.window / s.frames
        idx = np.clip(np.round(t * self.fps).astype(int), 0, n - 1) + self.offsets[reel]
        return self.frames[idx]

    def normalise(self, clips_u8: np.ndarray) -> torch.Tensor:
        """[B, T, H, W, 3] uint8 → [B, T, 3, H, W] float, ImageNet-normalised."""
        x = torch.from_numpy(np.ascontiguousarray(clips_u8)).float().div_(255.0).permute(0, 1, 4, 2, 3)
        return (x - self.mean) / self.std

    def event_window_start(self, ev: EventRecord, rng: np.random.Generator | None) -> float:
        """A window inside the event: random during training, centred when rng is None."""
        slack = max(ev.end - ev.start - self.spec.window, 0.0)
        off = slack / 2 if rng is None else rng.uniform(0, slack)
        return ev.start + off
