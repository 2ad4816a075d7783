"""The procedural video–caption world that vljepa-mini is trained and evaluated on.

An *event* is a small scene with a ground-truth identity (its attributes) and a renderer. Identities are
compared attribute for attribute at evaluation time, so two clips that show the same event count as the same
answer. Captions come from a grammar with paraphrase templates; some templates are held out of training, and
so are some colour–object–motion compositions.

Everything is deterministic from a seed: `random.Random(seed)` for choices, `numpy` generators for pixels.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------------

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 90, 230),
    "yellow": (235, 215, 40),
    "purple": (150, 60, 200),
    "orange": (245, 140, 30),
    "white": (240, 240, 240),
}

#: object kind → noun phrases usable in captions (first is the plain name).
OBJECTS: dict[str, list[str]] = {
    "ball": ["ball", "sphere", "round ball"],
    "square": ["square", "box", "block"],
    "triangle": ["triangle", "three-sided shape", "wedge"],
    "star": ["star", "star shape", "little star"],
    "ring": ["ring", "hoop", "donut"],
}

PLURALS = {"ball": "balls", "square": "squares", "triangle": "triangles", "star": "stars", "ring": "rings"}

#: motion → verb phrases (present tense, third person singular).
MOTIONS: dict[str, list[str]] = {
    "left": ["moves to the left", "slides left", "travels leftwards", "heads to the left side"],
    "right": ["moves to the right", "slides right", "travels rightwards", "heads to the right side"],
    "up": ["moves up", "rises", "drifts upwards", "climbs toward the top"],
    "down": ["moves down", "falls", "sinks downwards", "drops toward the bottom"],
    "bounce": ["bounces", "bounces up and down", "hops repeatedly", "keeps bouncing"],
    "rotate": ["rotates", "spins in place", "turns around", "is spinning"],
    "grow": ["grows", "gets bigger", "expands", "swells in size"],
    "shrink": ["shrinks", "gets smaller", "contracts", "dwindles in size"],
    "appear": ["appears", "shows up", "pops into view", "fades in"],
    "disappear": ["disappears", "vanishes", "fades away", "goes out of view"],
}

#: motions whose plural form is used in count captions ("three red balls move left").
PLURAL_MOTIONS: dict[str, list[str]] = {
    "left": ["move to the left", "slide left", "travel leftwards", "head to the left side"],
    "right": ["move to the right", "slide right", "travel rightwards", "head to the right side"],
    "up": ["move up", "rise", "drift upwards", "climb toward the top"],
    "down": ["move down", "fall", "sink downwards", "drop toward the bottom"],
}

#: rotation is invisible on rotationally symmetric objects, so they never rotate.
SYMMETRIC = {"ball", "ring"}

COUNTS = {2: "two", 3: "three", 4: "four"}

RELATIONS = ["collide", "follow", "pass_behind"]

# Paraphrase templates. The last ones in each list are held out: never seen in training captions.
# Slots: {c} colour, {o} noun phrase, {m} motion phrase, {n} count word, {os} plural noun,
# {c2}/{o2} the second object.
MOTION_TEMPLATES = [
    "a {c} {o} {m}",
    "the {c} {o} {m}",
    "there is a {c} {o} that {m}",
    "a {o} coloured {c} {m}",
    "we see a {c} {o} as it {m}",
    "one {c} {o} {m}",
    "something {c} shaped like a {o} {m}",
    "in this clip a {c} {o} {m}",
    # held out
    "watch the {c} {o}: it {m}",
    "a single {o}, {c} in colour, {m}",
    "the video shows how a {c} {o} {m}",
]
COUNT_TEMPLATES = [
    "{n} {c} {os} {m}",
    "a group of {n} {c} {os} {m}",
    "there are {n} {c} {os} that {m}",
    "{n} {os} coloured {c} {m}",
    "we see {n} {c} {os} {m}",
    # held out
    "exactly {n} {c} {os} {m} together",
    "a set of {n} {os}, all {c}, {m}",
]
RELATION_PHRASES = {
    "collide": ["collides with", "bumps into", "crashes into", "hits"],
    "follow": ["follows", "chases", "trails behind", "goes after"],
    "pass_behind": ["passes behind", "moves behind", "slips behind", "goes behind"],
}
INTERACTION_TEMPLATES = [
    "a {c} {o} {r} a {c2} {o2}",
    "the {c} {o} {r} the {c2} {o2}",
    "we see a {c} {o} that {r} a {c2} {o2}",
    "in this clip a {c} {o} {r} a {c2} {o2}",
    # held out
    "watch the {c} {o} as it {r} the {c2} {o2}",
    "a {o} in {c} {r} a {o2} in {c2}",
]
HELD_OUT_TEMPLATES = {"motion": 3, "count": 2, "interaction": 2}

BACKGROUNDS = ["solid", "gradient", "noise", "grid"]
BACKGROUND_COLOURS = [(20, 20, 24), (60, 60, 66), (18, 28, 60), (50, 36, 24), (16, 48, 36)]
TEXTURES = ["solid", "stripes", "dots"]


# ---------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """What happens in one stretch of video. `key()` is its ground-truth identity."""

    kind: str  # "motion" | "count" | "interaction"
    colour: str
    obj: str
    motion: str = ""  # motion events and count events
    count: int = 1  # count events
    relation: str = ""  # interaction events
    colour2: str = ""
    obj2: str = ""

    def key(self) -> str:
        if self.kind == "motion":
            return f"motion|{self.colour}|{self.obj}|{self.motion}"
        if self.kind == "count":
            return f"count|{self.count}|{self.colour}|{self.obj}|{self.motion}"
        return f"interaction|{self.relation}|{self.colour}|{self.obj}|{self.colour2}|{self.obj2}"

    def to_json(self) -> dict:
        """The attributes that apply to this kind of event (empty slots left out)."""
        d = {"kind": self.kind, "colour": self.colour, "obj": self.obj}
        if self.kind in ("motion", "count"):
            d["motion"] = self.motion
        if self.kind == "count":
            d["count"] = self.count
        if self.kind == "interaction":
            d.update(relation=self.relation, colour2=self.colour2, obj2=self.obj2)
        return d


def templates_for(kind: str, split_templates: str) -> list[str]:
    """Templates of `kind`: "train" gives the training ones, "heldout" only the held-out ones, "all" both."""
    allt = {"motion": MOTION_TEMPLATES, "count": COUNT_TEMPLATES, "interaction": INTERACTION_TEMPLATES}[kind]
    cut = len(allt) - HELD_OUT_TEMPLATES[kind]
    return {"train": allt[:cut], "heldout": allt[cut:], "all": allt}[split_templates]


def caption(event: Event, rng: random.Random, split_templates: str = "train") -> str:
    """One caption for `event`, drawn from the grammar's templates and synonyms."""
    return _fix_articles(_raw_caption(event, rng, split_templates))


def _fix_articles(text: str) -> str:
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)


def _raw_caption(event: Event, rng: random.Random, split_templates: str) -> str:
    t = rng.choice(templates_for(event.kind, split_templates))
    o = rng.choice(OBJECTS[event.obj])
    if event.kind == "motion":
        return t.format(c=event.colour, o=o, m=rng.choice(MOTIONS[event.motion]))
    if event.kind == "count":
        return t.format(n=COUNTS[event.count], c=event.colour, os=PLURALS[event.obj],
                        m=rng.choice(PLURAL_MOTIONS[event.motion]))
    o2 = rng.choice(OBJECTS[event.obj2])
    return t.format(c=event.colour, o=o, r=rng.choice(RELATION_PHRASES[event.relation]),
                    c2=event.colour2, o2=o2)


def all_captions(event: Event, split_templates: str) -> list[str]:
    """Every caption the grammar can give `event` with the chosen template split (for evaluation queries)."""
    out = []
    rng = random.Random(0)
    for _ in range(64):
        out.append(caption(event, rng, split_templates))
    return sorted(set(out))


def motions_for(obj: str) -> list[str]:
    return [m for m in MOTIONS if not (m == "rotate" and obj in SYMMETRIC)]


def held_out_compositions() -> set[tuple[str, str, str]]:
    """About 8% of the (colour, object, motion) triples: never in training, always eligible at test time."""
    rng = random.Random(20251211)
    triples = [(c, o, m) for c in COLOURS for o in OBJECTS for m in motions_for(o)]
    rng.shuffle(triples)
    return set(triples[: len(triples) * 8 // 100])


def sample_event(rng: random.Random, split: str) -> Event:
    """A random event. Training never draws a held-out composition; test draws them a quarter of the time."""
    held = held_out_compositions()
    r = rng.random()
    if r < 0.6:
        if split == "test" and rng.random() < 0.25:
            c, o, m = rng.choice(sorted(held))
            return Event("motion", c, o, motion=m)
        while True:
            c, o = rng.choice(list(COLOURS)), rng.choice(list(OBJECTS))
            m = rng.choice(motions_for(o))
            if split != "train" or (c, o, m) not in held:
                return Event("motion", c, o, motion=m)
    if r < 0.8:
        return Event("count", rng.choice(list(COLOURS)), rng.choice(list(OBJECTS)),
                     motion=rng.choice(list(PLURAL_MOTIONS)), count=rng.choice(list(COUNTS)))
    c, c2 = rng.sample(list(COLOURS), 2)
    o, o2 = rng.choice(list(OBJECTS)), rng.choice(list(OBJECTS))
    return Event("interaction", c, o, relation=rng.choice(RELATIONS), colour2=c2, obj2=o2)


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Scene:
    """Per-event rendering parameters: nuisance variables that are not part of the event identity."""

    size: int
    background: str
    bg_colour: tuple[int, int, int]
    texture: str
    scale: float  # object radius as a fraction of the frame
    texture2: str = "solid"
    jitter: tuple[float, float] = (0.0, 0.0)
    bg_seed: int = 0
    _bg: np.ndarray | None = field(default=None, repr=False)

    def background_image(self) -> np.ndarray:
        if self._bg is None:
            s = self.size
            base = np.array(self.bg_colour, dtype=np.float32)
            img = np.broadcast_to(base, (s, s, 3)).copy()
            yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
            if self.background == "gradient":
                img *= (0.6 + 0.8 * yy)[..., None]
            elif self.background == "noise":
                g = np.random.default_rng(self.bg_seed)
                img += g.normal(0, 10, (s, s, 1)).astype(np.float32)
            elif self.background == "grid":
                lines = ((np.floor(xx * 8) + np.floor(yy * 8)) % 2 == 0)
                img += np.where(lines[..., None], 14.0, -6.0)
            self._bg = np.clip(img, 0, 255)
        return self._bg


def random_scene(rng: random.Random, size: int) -> Scene:
    return Scene(size=size, background=rng.choice(BACKGROUNDS), bg_colour=rng.choice(BACKGROUND_COLOURS),
                 texture=rng.choice(TEXTURES), texture2=rng.choice(TEXTURES), scale=rng.uniform(0.11, 0.16),
                 jitter=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)), bg_seed=rng.randrange(1 << 30))


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(s: int) -> tuple[np.ndarray, np.ndarray]:
    if s not in _GRIDS:
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        _GRIDS[s] = (yy, xx)
    return _GRIDS[s]


def shape_mask(kind: str, s: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape centred at (cx, cy) in pixels, radius r, rotated by angle."""
    yy, xx = _grid(s)
    dx, dy = xx - cx, yy - cy
    ca, sa = math.cos(angle), math.sin(angle)
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    if kind == "ball":
        d = np.sqrt(u * u + v * v) - r
    elif kind == "ring":
        d = np.abs(np.sqrt(u * u + v * v) - 0.72 * r) - 0.3 * r
    elif kind == "square":
        d = np.maximum(np.abs(u), np.abs(v)) - 0.85 * r
    elif kind == "triangle":
        # Signed distance-ish to an upright equilateral triangle (apex up).
        k = math.sqrt(3.0)
        d = np.maximum(np.abs(u) * k * 0.5 - v * 0.5, v) - 0.5 * r
    elif kind == "star":
        theta = np.arctan2(v, u)
        rr = np.sqrt(u * u + v * v)
        edge = r * (0.55 + 0.45 * np.abs(np.cos(2.5 * theta)))
        d = rr - edge
    else:
        raise ValueError(kind)
    return np.clip(0.5 - d, 0.0, 1.0)


def texture_factor(texture: str, s: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray | float:
    if texture == "solid":
        return 1.0
    yy, xx = _grid(s)
    dx, dy = xx - cx, yy - cy
    ca, sa = math.cos(angle), math.sin(angle)
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    if texture == "stripes":
        return np.where(np.floor(u / max(r * 0.4, 1.0)) % 2 == 0, 1.0, 0.55)[..., None]
    return np.where((np.hypot((u % (r * 0.6)) - r * 0.3, (v % (r * 0.6)) - r * 0.3) < r * 0.15), 0.5, 1.0)[..., None]


@dataclass
class Sprite:
    kind: str
    colour: str
    x: float  # centre, fraction of frame
    y: float
    r: float  # radius, fraction of frame
    angle: float = 0.0
    alpha: float = 1.0
    texture: str = "solid"


def draw(scene: Scene, sprites: list[Sprite]) -> np.ndarray:
    """One uint8 RGB frame [size, size, 3]; sprites are painted in order (later ones in front)."""
    s = scene.size
    img = scene.background_image().copy()
    for sp in sprites:
        if sp.alpha <= 0 or sp.r <= 0:
            continue
        cx, cy, r = sp.x * s, sp.y * s, sp.r * s
        m = shape_mask(sp.kind, s, cx, cy, r, sp.angle)[..., None] * sp.alpha
        col = np.array(COLOURS[sp.colour], dtype=np.float32) * texture_factor(sp.texture, s, cx, cy, r, sp.angle)
        img = img * (1 - m) + col * m
    return np.clip(img, 0, 255).astype(np.uint8)


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def sprites_at(event: Event, scene: Scene, t: float) -> list[Sprite]:
    """The sprites of `event` at phase t ∈ [0, 1] of its duration."""
    jx, jy = scene.jitter
    r = scene.scale
    if event.kind == "motion":
        x, y, rr, ang, alpha = 0.5 + jx, 0.5 + jy, r, 0.0, 1.0
        m = event.motion
        if m == "left":
            x = lerp(0.85, 0.15, t)
        elif m == "right":
            x = lerp(0.15, 0.85, t)
        elif m == "up":
            y = lerp(0.85, 0.15, t)
        elif m == "down":
            y = lerp(0.15, 0.85, t)
        elif m == "bounce":
            y = 0.8 - 0.55 * abs(math.sin(t * math.pi * 3))
        elif m == "rotate":
            ang = t * 2 * math.pi * 1.5
        elif m == "grow":
            rr = lerp(0.4 * r, 2.2 * r, t)
        elif m == "shrink":
            rr = lerp(2.2 * r, 0.4 * r, t)
        elif m == "appear":
            alpha = min(1.0, max(0.0, (t - 0.2) / 0.4))
        elif m == "disappear":
            alpha = 1.0 - min(1.0, max(0.0, (t - 0.4) / 0.4))
        return [Sprite(event.obj, event.colour, x, y, rr, ang, alpha, scene.texture)]
    if event.kind == "count":
        out = []
        n = event.count
        for i in range(n):
            off = (i - (n - 1) / 2) * 0.22
            if event.motion in ("left", "right"):
                x = lerp(0.85, 0.15, t) if event.motion == "left" else lerp(0.15, 0.85, t)
                out.append(Sprite(event.obj, event.colour, x + 0.04 * (i % 2), 0.5 + off + jy * 0.3, r * 0.8,
                                  texture=scene.texture))
            else:
                y = lerp(0.85, 0.15, t) if event.motion == "up" else lerp(0.15, 0.85, t)
                out.append(Sprite(event.obj, event.colour, 0.5 + off + jx * 0.3, y + 0.04 * (i % 2), r * 0.8,
                                  texture=scene.texture))
        return out
    # interactions: first object is the subject
    a_c, a_o, b_c, b_o = event.colour, event.obj, event.colour2, event.obj2
    y0 = 0.5 + jy
    if event.relation == "collide":
        # A comes from the left, B from the right; they meet at the middle at t=0.5 and bounce apart.
        d = lerp(0.38, 0.0, t / 0.5) if t < 0.5 else lerp(0.0, 0.25, (t - 0.5) / 0.5)
        gap = r * 0.95
        return [Sprite(a_o, a_c, 0.5 - gap - d, y0, r, texture=scene.texture),
                Sprite(b_o, b_c, 0.5 + gap + d, y0, r, texture=scene.texture2)]
    if event.relation == "follow":
        xa = lerp(0.05, 0.78, t)
        xb = xa + 0.28
        return [Sprite(b_o, b_c, xb, y0, r, texture=scene.texture2), Sprite(a_o, a_c, xa, y0, r, texture=scene.texture)]
    # pass_behind: B stays in the middle and is drawn on top; A crosses behind it.
    xa = lerp(0.1, 0.9, t)
    return [Sprite(a_o, a_c, xa, y0, r * 0.8, texture=scene.texture),
            Sprite(b_o, b_c, 0.5, y0, r * 1.5, texture=scene.texture2)]


def render_event(event: Event, scene: Scene, frames: int) -> np.ndarray:
    """[frames, size, size, 3] uint8 for one event spread over `frames` frames."""
    out = np.empty((frames, scene.size, scene.size, 3), dtype=np.uint8)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        out[i] = draw(scene, sprites_at(event, scene, t))
    return out
