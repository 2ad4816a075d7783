"""Everyday-word paraphrases of the world's captions: colour and shape synonyms, digits, passive voice.

The caption grammar (`world.caption`) names colours and shapes with a few words only, so a Y-encoder
fine-tuned on it forgets what MiniLM knew about the rest ("scarlet" is red, "a circle" is a ball). Training
mixes in captions from this lexicon's *training* words; evaluation queries use its *held-out* words, which no
training caption contains, so the synonym metric measures what the model kept from MiniLM, not what it
memorised:

    training   a crimson orb slides left         the navy tile is hit by a ruby star       3 lime pyramids rise
    held out   watch the scarlet circle: it ...  a cobalt cube gets hit by an amber star   ...

Templates follow the caption split too: training paraphrases use the training templates, held-out ones only
the held-out templates.
"""
from __future__ import annotations

import random

import world

#: colour → (training synonyms, held-out synonyms).
COLOUR_SYNONYMS: dict[str, tuple[list[str], list[str]]] = {
    "red": (["crimson", "ruby", "cherry"], ["scarlet", "vermilion"]),
    "green": (["emerald", "lime"], ["jade", "grass-green"]),
    "blue": (["navy", "azure", "sapphire"], ["cobalt", "cerulean"]),
    "yellow": (["golden", "lemon"], ["canary", "sunflower"]),
    "purple": (["violet", "lilac"], ["lavender", "plum"]),
    "orange": (["tangerine", "amber"], ["apricot", "pumpkin"]),
    "white": (["snowy", "ivory"], ["milky", "pearl"]),
}

#: object → (training synonyms, held-out synonyms), on top of the grammar's own nouns (`world.OBJECTS`).
OBJECT_SYNONYMS: dict[str, tuple[list[str], list[str]]] = {
    "ball": (["orb", "dot", "disc"], ["circle", "marble"]),
    "square": (["tile", "rectangle"], ["cube", "checker"]),
    "triangle": (["pyramid", "arrow"], ["arrowhead", "delta"]),
    "star": (["starburst", "star figure"], ["pentagram", "starfish"]),
    "ring": (["loop", "halo"], ["doughnut", "bagel"]),
}

#: relation → (training passive phrases, held-out passive phrases): "B <phrase> A" for "A <relation> B".
PASSIVE: dict[str, tuple[list[str], list[str]]] = {
    "collide": (["is hit by", "is bumped into by"], ["gets hit by", "is struck by"]),
    "follow": (["is followed by", "is chased by"], ["gets chased by", "is pursued by"]),
    "pass_behind": (["is passed from behind by"], ["gets passed from behind by"]),
}
PASSIVE_TEMPLATES = {"train": ["a {c2} {o2} {r} a {c} {o}", "the {c2} {o2} {r} the {c} {o}"],
                     "heldout": ["watch the {c2} {o2}: it {r} the {c} {o}", "in the end the {c2} {o2} {r} a {c} {o}"]}

DIGITS = {2: "2", 3: "3", 4: "4"}


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("sh", "ch", "x")) else "s")


def _pick(rng: random.Random, lexicon: dict, key: str, split: str, plain: list[str], p: float) -> tuple[str, bool]:
    """A word for `key`: one of `split`'s synonyms with probability p, else one of `plain`; and whether it was a
    synonym."""
    train, held = lexicon[key]
    if rng.random() < p:
        return rng.choice(train if split == "train" else held), True
    return rng.choice(plain), False


def caption(event: dict, rng: random.Random, split: str = "train", p: float = 0.5) -> str:
    """A caption of `event` (a manifest `event` object) in everyday words. `split` "train" uses training words and
    templates; "heldout" uses held-out ones and always contains at least one held-out word or passive phrase."""
    assert split in ("train", "heldout")
    templates = "train" if split == "train" else "heldout"
    while True:
        k = event["kind"]
        c, c_syn = _pick(rng, COLOUR_SYNONYMS, event["colour"], split, [event["colour"]], p)
        o, o_syn = _pick(rng, OBJECT_SYNONYMS, event["obj"], split, world.OBJECTS[event["obj"]], p)
        novel = c_syn or o_syn
        if k == "motion":
            t = rng.choice(world.templates_for("motion", templates))
            text = t.format(c=c, o=o, m=rng.choice(world.MOTIONS[event["motion"]]))
        elif k == "count":
            t = rng.choice(world.templates_for("count", templates))
            n = DIGITS[event["count"]] if rng.random() < 0.5 else world.COUNTS[event["count"]]
            os = _plural(o) if o != event["obj"] else world.PLURALS[event["obj"]]
            text = t.format(n=n, c=c, os=os, m=rng.choice(world.PLURAL_MOTIONS[event["motion"]]))
        else:
            c2, c2_syn = _pick(rng, COLOUR_SYNONYMS, event["colour2"], split, [event["colour2"]], p)
            o2, o2_syn = _pick(rng, OBJECT_SYNONYMS, event["obj2"], split, world.OBJECTS[event["obj2"]], p)
            novel = novel or c2_syn or o2_syn
            if rng.random() < 0.5:
                train, held = PASSIVE[event["relation"]]
                r = rng.choice(train if split == "train" else held)
                text = rng.choice(PASSIVE_TEMPLATES[templates]).format(c=c, o=o, c2=c2, o2=o2, r=r)
                novel = True
            else:
                t = rng.choice(world.templates_for("interaction", templates))
                text = t.format(c=c, o=o, c2=c2, o2=o2, r=rng.choice(world.RELATION_PHRASES[event["relation"]]))
        if split == "train" or novel:
            return world._fix_articles(text)
