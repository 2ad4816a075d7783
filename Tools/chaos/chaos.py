#!/usr/bin/env python3
"""Chaos run: kill -9 at random moments, a full disk, concurrent writers and readers; `verify` after each step.

    Tools/chaos/run [--kills 100] [--seed 1] [--vjsearch .build/release/vjsearch] [--work .build/chaos]

1. Kills: `--kills` times, one of `index`, `watch`, `remove` and `reindex` is started on a library of small
   generated videos and killed with SIGKILL after a random 0.05–1.5 s. Then `vjsearch verify` must pass, and no
   video committed before the kill may be missing afterwards unless the killed command was a `remove` (a
   `reindex` swaps libraries atomically, so it loses nothing either). Videos are restored and re-indexed as
   needed to keep the next step meaningful.
2. Full disk: a 4 MB tmpfs (skipped with a message when it cannot be mounted): a library is filled until a
   write fails; the run must end with the one-line error and status 1, never a crash, and `verify` must pass.
3. Concurrency: two `index --wait` runs and a stream of queries at once; all must succeed, then `verify`.

A crash is any exit by a signal other than the SIGKILL sent, or a Swift/libc crash report on stderr.
Last line: `RESULT kills=… lost=… crashes=… verify_failures=…` (all but kills must be 0).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRASH_MARKS = ("Program crashed", "Fatal error", "double free", "Segmentation fault", "Bus error")


class Tally:
    def __init__(self):
        self.kills = self.lost = self.crashes = self.verify_failures = 0
        self.notes: list[str] = []

    def crash(self, what: str, detail: str):
        self.crashes += 1
        self.notes.append(f"crash: {what}: {detail.strip()[:300]}")


def make_videos(folder: Path, count: int, seconds: int):
    folder.mkdir(parents=True, exist_ok=True)
    patterns = ["testsrc", "testsrc2", "smptebars", "rgbtestsrc"]
    for i in range(count):
        out = folder / f"clip{i:02d}.mp4"
        if out.exists():
            continue
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"{patterns[i % 4]}=size=160x120:rate=15:duration={seconds}", "-vf", f"hue=h={i * 29}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)


class Runner:
    def __init__(self, binary: str, library: Path, tally: Tally):
        self.binary, self.library, self.tally = binary, library, tally

    def run(self, args: list[str], what: str, timeout: float = 300, env=None) -> subprocess.CompletedProcess:
        r = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout, env=env)
        self.check_crash(what, r.returncode, r.stderr)
        return r

    def check_crash(self, what: str, status: int, stderr: str, killed: bool = False):
        by_signal = status < 0 and not (killed and status == -signal.SIGKILL)
        if by_signal or any(mark in stderr for mark in CRASH_MARKS):
            self.tally.crash(what, f"status {status}: {stderr}")

    def videos(self) -> set[str]:
        """Paths of the indexed videos, from `query --exact` over everything (status has no list)."""
        if not (self.library / "data.mdb").exists():
            return set()
        r = self.run(["status", "--library", str(self.library), "--json"], "status")
        if r.returncode != 0:
            return set()
        count = json.loads(r.stdout).get("videos", 0)
        q = self.run(["query", "a", "--library", str(self.library), "--json", "--exact", "--top", "10000",
                      "--min-score=-1"], "query")
        paths = {json.loads(line)["path"] for line in q.stdout.splitlines() if line.strip()}
        return paths if len(paths) == count else paths | {f"<{count - len(paths)} unlisted>"}

    def verify(self, what: str) -> bool:
        if not (self.library / "data.mdb").exists():
            return True
        r = self.run(["verify", "--library", str(self.library)], f"verify after {what}")
        if r.returncode != 0:
            self.tally.verify_failures += 1
            self.tally.notes.append(f"verify after {what}: {r.stdout.strip()[:300]} {r.stderr.strip()[:300]}")
            return False
        return True


def kills(runner: Runner, videos: Path, count: int, rng: random.Random):
    commands = ["index", "watch", "remove", "reindex"]
    for k in range(count):
        command = rng.choice(commands)
        before = runner.videos()
        if command == "remove":
            args = ["remove", str(videos / f"clip{rng.randrange(8):02d}.mp4")]
        elif command == "reindex":
            if not before:
                command, args = "index", ["index", str(videos)]
            else:
                args = ["reindex", "--model", str(ROOT / "Models/vljepa-mini")]
        elif command == "watch":
            args = ["watch", str(videos), "--settle", "0.2"]
        else:
            args = ["index", str(videos), "--wait"]
        proc = subprocess.Popen([runner.binary, *args, "--library", str(runner.library)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, 1.5))  # a random moment to kill at: the point of the exercise
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate()
        runner.tally.kills += 1
        runner.check_crash(f"kill {k} of {command}", proc.returncode, stderr, killed=True)
        runner.verify(f"kill {k} of {command}")
        after = runner.videos()
        missing = before - after
        if command != "remove" and missing:
            runner.tally.lost += len(missing)
            runner.tally.notes.append(f"kill {k} of {command}: lost {sorted(missing)}")
        if rng.random() < 0.3 or not after:
            runner.run(["index", str(videos), "--wait", "--library", str(runner.library)], "index between kills")


def full_disk(binary: str, videos: Path, tally: Tally):
    mount = Path(tempfile.mkdtemp(prefix="vjsearch-chaos-disk-"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        print("full disk: skipped (cannot mount a tmpfs here; run as root)")
        mount.rmdir()
        return
    try:
        runner = Runner(binary, mount / "library", tally)
        first = runner.run(["index", str(videos / "clip00.mp4"), "--library", str(runner.library)], "index before full")
        with open(mount / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        r = runner.run(["index", str(videos), "--library", str(runner.library)], "index on a full disk")
        ok = r.returncode == 1 and "no space left on device" in r.stderr
        print(f"full disk: first run status {first.returncode}; full run status {r.returncode}: {r.stderr.strip().splitlines()[-1:]}"
              + ("" if ok else "  <-- expected status 1 and 'no space left on device'"))
        if not ok:
            tally.notes.append(f"full disk: status {r.returncode}: {r.stderr.strip()[:300]}")
            tally.crashes += 0 if r.returncode == 1 else 1
        runner.verify("full disk")
    finally:
        subprocess.run(["umount", str(mount)])
        shutil.rmtree(mount, ignore_errors=True)


def concurrency(runner: Runner, videos: Path, tally: Tally):
    failures: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            r = subprocess.run([runner.binary, "query", "a moving shape", "--library", str(runner.library), "--json"],
                               capture_output=True, text=True)
            runner.check_crash("query during writes", r.returncode, r.stderr)
            if r.returncode not in (0,) and "empty" not in r.stderr:
                failures.append(f"query: {r.returncode} {r.stderr.strip()[:200]}")

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    writers = [subprocess.Popen([runner.binary, "index", str(videos), "--wait", "--library", str(runner.library)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for w in writers:
        _, err = w.communicate()
        runner.check_crash("concurrent index", w.returncode, err)
        if w.returncode != 0:
            failures.append(f"index: {w.returncode} {err.strip()[:200]}")
    stop.set()
    for t in readers:
        t.join()
    runner.verify("concurrency")
    print(f"concurrency: 2 writers, 2 query loops: {len(failures)} failures")
    tally.notes += failures
    tally.crashes += 0  # crashes were counted as they happened; plain failures are listed above


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vjsearch", default=str(ROOT / ".build/release/vjsearch"))
    ap.add_argument("--work", default=str(ROOT / ".build/chaos"))
    args = ap.parse_args()
    if not os.access(args.vjsearch, os.X_OK):
        sys.exit(f"error: {args.vjsearch}: no vjsearch binary (run `swift build -c release`)")
    work = Path(args.work)
    videos = work / "videos"
    make_videos(videos, 8, 6)
    tally = Tally()
    rng = random.Random(args.seed)
    library = work / "library"
    shutil.rmtree(library, ignore_errors=True)
    shutil.rmtree(str(library) + ".reindex", ignore_errors=True)
    runner = Runner(args.vjsearch, library, tally)
    runner.run(["index", str(videos), "--library", str(library)], "first index")
    started = time.time()
    kills(runner, videos, args.kills, rng)
    print(f"kills: {tally.kills} in {time.time() - started:.0f} s")
    full_disk(args.vjsearch, videos, tally)
    concurrency(runner, videos, tally)
    for note in tally.notes[:30]:
        print(note)
    print(f"RESULT kills={tally.kills} lost={tally.lost} crashes={tally.crashes} verify_failures={tally.verify_failures}")
    return 0 if tally.lost == tally.crashes == tally.verify_failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
