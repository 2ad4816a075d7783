#!/usr/bin/env python3
"""Write a model bundle's `vocabulary.txt`: one canonical caption per event of the synthetic world.

`vjsearch chapters` labels each chapter with the nearest of these texts (Y-encoder embeddings, cosine), so a
chapter of a synthetic reel reads as the event it shows. Every event key the world can draw (`world.Event.key`:
each colour, object and motion; each count; each ordered pair of colours and objects in each relation) gets one
caption: the first training template of its kind with the first synonym of every slot, e.g.

    motion|white|star|up                       → a white star moves up
    count|4|white|ball|right                   → four white balls move to the right
    interaction|pass_behind|purple|ball|red|square → a purple ball passes behind a red square

Deterministic: the order is the world's own (colours, objects, motions as declared), so the file only changes
when the world does.

    Tools/.venv/bin/python Tools/synth/vocabulary.py Models/vljepa-mini/vocabulary.txt
    Tools/.venv/bin/python Tools/synth/vocabulary.py --keys -   # key<TAB>caption, for checking
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import world  # noqa: E402


def events() -> list[world.Event]:
    """Every event the world can draw, in declaration order."""
    out = []
    for c in world.COLOURS:
        for o in world.OBJECTS:
            for m in world.motions_for(o):
                out.append(world.Event("motion", c, o, motion=m))
    for c in world.COLOURS:
        for o in world.OBJECTS:
            for m in world.PLURAL_MOTIONS:
                for n in world.COUNTS:
                    out.append(world.Event("count", c, o, motion=m, count=n))
    for r in world.RELATIONS:
        for c in world.COLOURS:
            for c2 in world.COLOURS:
                if c2 == c:
                    continue
                for o in world.OBJECTS:
                    for o2 in world.OBJECTS:
                        out.append(world.Event("interaction", c, o, relation=r, colour2=c2, obj2=o2))
    return out


def canonical(event: world.Event) -> str:
    """The caption of `event` from the first template of its kind and the first synonym of each slot."""
    o = world.OBJECTS[event.obj][0]
    if event.kind == "motion":
        text = world.MOTION_TEMPLATES[0].format(c=event.colour, o=o, m=world.MOTIONS[event.motion][0])
    elif event.kind == "count":
        text = world.COUNT_TEMPLATES[0].format(n=world.COUNTS[event.count], c=event.colour,
                                               os=world.PLURALS[event.obj], m=world.PLURAL_MOTIONS[event.motion][0])
    else:
        text = world.INTERACTION_TEMPLATES[0].format(c=event.colour, o=o, r=world.RELATION_PHRASES[event.relation][0],
                                                     c2=event.colour2, o2=world.OBJECTS[event.obj2][0])
    return world._fix_articles(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="the file to write (- for stdout)")
    ap.add_argument("--keys", action="store_true", help="write key<TAB>caption lines instead")
    args = ap.parse_args()
    lines = []
    seen = set()
    for e in events():
        text = canonical(e)
        if text in seen:
            raise SystemExit(f"two events share the caption {text!r}")
        seen.add(text)
        lines.append(f"{e.key()}\t{text}" if args.keys else text)
    data = "\n".join(lines) + "\n"
    if args.out == "-":
        sys.stdout.write(data)
    else:
        Path(args.out).write_text(data, encoding="utf-8")
        print(f"wrote {len(lines)} captions to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
