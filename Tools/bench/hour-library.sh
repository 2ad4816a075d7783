# Sourced by Tools/bench/chapters and Tools/bench/classify: an hour of indexed video to run cold commands on.
# The video is Samples/synth's three reels concatenated REPEAT times (stream copy), indexed once into a library kept
# under .build/bench-chapters (one per model id). Sets root, model, repeat, runs, work, bin, reels, video, library
# and clips, and defines ms (a command's wall time, milliseconds) and percentiles (p50 and p95 of numbers on stdin).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
model="${VJSEARCH_MODEL:-$root/Models/vljepa-mini}"
repeat="${REPEAT:-50}"
runs="${RUNS:-10}"
work="$root/.build/bench-chapters"
mkdir -p "$work"
[ -f "$model/config.json" ] || { echo "error: no model bundle at $model (set VJSEARCH_MODEL)" >&2; exit 64; }

swift build -c release --product vjsearch >&2
bin="$root/.build/release/vjsearch"

# The long video: the three reels, REPEAT times over.
reels=("$root"/Samples/synth/samples_00000{0,1,2}.mp4)
video="$work/reels-x${repeat}.mp4"
if [ ! -s "$video" ]; then
  echo "concatenating $video" >&2
  list="$work/concat.txt"
  : > "$list"
  for _ in $(seq 1 "$repeat"); do for r in "${reels[@]}"; do echo "file '$r'" >> "$list"; done; done
  ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$list" -c copy "$video.tmp.mp4"
  mv "$video.tmp.mp4" "$video"
fi

model_id=$(sed -nE 's/.*"model_id": *"([^"]+)".*/\1/p' "$model/config.json")
library="$work/library-x${repeat}-${model_id:-unstamped}"
if [ ! -s "$library/data.mdb" ]; then
  echo "indexing $video into $library" >&2
  rm -rf "$library"
  "$bin" index "$video" --library "$library" --model "$model" >&2
fi
clips=$("$bin" status --json --library "$library" | sed -E 's/.*"segments":([0-9]+).*/\1/')

ms() {
  local t0 t1; t0=$(date +%s%N); "$@" > /dev/null; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
percentiles() { sort -n | awk '{a[NR]=$1} END {p50=a[int((NR+1)/2)]; i=int(NR*0.95+0.999); if (i>NR) i=NR; print p50, a[i]}'; }
