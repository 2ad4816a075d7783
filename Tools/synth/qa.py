"""Question–answer pairs about the synthetic world's events: vljepa-mini's VQA training and evaluation data.

Every event gets questions of six types, each drawn from paraphrase templates whose last ones are held out of
training (as caption templates are):

- colour    "what colour is the ball?" → "red"
- shape     "what shape is moving?" → "a ball"
- motion    "how does the ball move?" → "it moves to the left" (interactions: what the first object does)
- count     count events only: "how many balls are there?" → "three"
- relation  interactions only: "what does the red ball do to the blue star?" → "it collides with it"
- yesno     "is there a green star?" → "yes" or "no" (half of them false: one attribute changed)

Answers are short texts from a closed set per type (`ANSWERS`), which is also the candidate list an
evaluation ranks, as the paper's discriminative VQA does. The question is the predictor's query; the answer is
the Y-encoder's target.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import world

TYPES = ["colour", "shape", "motion", "count", "relation", "yesno"]

SHAPE_ANSWERS = {o: f"a {o}" for o in world.OBJECTS}
MOTION_ANSWERS = {
    "left": "it moves to the left", "right": "it moves to the right", "up": "it moves up", "down": "it moves down",
    "bounce": "it bounces", "rotate": "it spins", "grow": "it grows", "shrink": "it shrinks",
    "appear": "it appears", "disappear": "it disappears",
}
RELATION_ANSWERS = {"collide": "it collides with it", "follow": "it follows it", "pass_behind": "it passes behind it"}
COUNT_ANSWERS = {2: "two", 3: "three", 4: "four"}

#: The closed answer set of each question type (the candidates an evaluation ranks).
ANSWERS: dict[str, list[str]] = {
    "colour": list(world.COLOURS),
    "shape": list(SHAPE_ANSWERS.values()),
    "motion": list(MOTION_ANSWERS.values()),
    "count": list(COUNT_ANSWERS.values()),
    "relation": list(RELATION_ANSWERS.values()),
    "yesno": ["yes", "no"],
}

# Templates per type; the last HELD_OUT of each list never appear in training questions.
# Slots: {o} the object's noun, {os} its plural, {c} its colour, {o2}/{c2} an interaction's second object.
TEMPLATES: dict[str, list[str]] = {
    "colour": ["what colour is the {o}?", "which colour does the {o} have?", "what is the colour of the {o}?",
               "the {o} is what colour?", "what color is the {o}?",
               # held out
               "tell me the colour of the {o}.", "can you name the {o}'s colour?"],
    "colour_many": ["what colour are the {os}?", "which colour do the {os} have?", "the {os} are what colour?",
                    "what color are the {os}?",
                    # held out
                    "tell me the colour of the {os}."],
    "shape": ["what shape is the {c} object?", "what kind of shape is the {c} thing?", "which shape is {c}?",
              "what is the {c} object?", "what shape do we see in {c}?",
              # held out
              "name the shape of the {c} thing.", "what sort of object is the {c} one?"],
    "shape_many": ["what shape are the {c} objects?", "what kind of shapes are the {c} things?", "which shapes are {c}?",
                   "what are the {c} objects?",
                   # held out
                   "name the shape of the {c} things."],
    "motion": ["how does the {o} move?", "what is the {o} doing?", "what does the {c} {o} do?",
               "which way does the {o} go?", "describe the motion of the {o}.",
               # held out
               "what happens to the {c} {o}?", "how is the {o} moving in this clip?"],
    "motion_many": ["how do the {os} move?", "what are the {os} doing?", "which way do the {os} go?",
                    # held out
                    "how are the {os} moving in this clip?"],
    "count": ["how many {os} are there?", "how many {c} {os} can you see?", "what is the number of {os}?",
              "count the {os}.", "how many {os} are in the video?",
              # held out
              "how many {os} appear in this clip?", "what number of {c} {os} is shown?"],
    "relation": ["what does the {c} {o} do to the {c2} {o2}?", "how does the {c} {o} interact with the {c2} {o2}?",
                 "what happens between the {c} {o} and the {c2} {o2}?", "what is the {c} {o} doing with the {o2}?",
                 # held out
                 "what does the {o} do to the {c2} one?", "how do the {c} {o} and the {c2} {o2} interact?"],
    "yesno": ["is there a {c} {o}?", "do you see a {c} {o}?", "is a {c} {o} in the video?",
              "does the video show a {c} {o}?", "can you see a {c} {o}?",
              # held out
              "is a {c} {o} visible in this clip?", "does this clip contain a {c} {o}?"],
}
HELD_OUT = {"colour": 2, "colour_many": 1, "shape": 2, "shape_many": 1, "motion": 2, "motion_many": 1, "count": 2,
            "relation": 2, "yesno": 2}


@dataclass(frozen=True)
class QA:
    type: str
    question: str
    answer: str

    def to_json(self) -> dict:
        return {"type": self.type, "question": self.question, "answer": self.answer}


def templates(family: str, split_templates: str) -> list[str]:
    """The templates of `family`: "train", "heldout" or "all"."""
    allt = TEMPLATES[family]
    cut = len(allt) - HELD_OUT[family]
    return {"train": allt[:cut], "heldout": allt[cut:], "all": allt}[split_templates]


def _ask(family: str, rng: random.Random, split_templates: str, **slots: str) -> str:
    return world._fix_articles(rng.choice(templates(family, split_templates)).format(**slots))


def _other(rng: random.Random, options, not_this):
    return rng.choice([x for x in options if x != not_this])


def question(event: dict, kind: str, rng: random.Random, split_templates: str = "train") -> QA | None:
    """One question of type `kind` about `event` (the manifest's `event` object), or None when the type does not
    apply (a relation question about a single object)."""
    k, c, o = event["kind"], event["colour"], event["obj"]
    many = k == "count"
    os = world.PLURALS[o]
    if kind == "colour":
        if k == "interaction":  # the object named by its shape alone would be ambiguous when both share it
            if event["obj2"] == o:
                return None
            return QA(kind, _ask("colour", rng, split_templates, o=o), c)
        return QA(kind, _ask("colour_many" if many else "colour", rng, split_templates, o=o, os=os), c)
    if kind == "shape":  # the colour names the object: an interaction's two objects never share one
        return QA(kind, _ask("shape_many" if many else "shape", rng, split_templates, c=c), SHAPE_ANSWERS[o])
    if kind == "motion":
        if k == "interaction":
            return None
        return QA(kind, _ask("motion_many" if many else "motion", rng, split_templates, o=o, os=os, c=c),
                  MOTION_ANSWERS[event["motion"]])
    if kind == "count":
        if k != "count":  # a single object's count would make "one" the answer to most count questions
            return None
        return QA(kind, _ask("count", rng, split_templates, os=os, c=c), COUNT_ANSWERS[event["count"]])
    if kind == "relation":
        if k != "interaction":
            return None
        return QA(kind, _ask("relation", rng, split_templates, c=c, o=o, c2=event["colour2"], o2=event["obj2"]),
                  RELATION_ANSWERS[event["relation"]])
    if kind == "yesno":
        truth = rng.random() < 0.5
        qc, qo = c, o
        if not truth:  # change the colour or the shape to one absent from the event
            present = {(c, o)} | ({(event["colour2"], event["obj2"])} if k == "interaction" else set())
            while (qc, qo) in present or (qc, qo) == (c, o):
                if rng.random() < 0.5:
                    qc = _other(rng, list(world.COLOURS), c)
                else:
                    qo = _other(rng, list(world.OBJECTS), o)
        return QA(kind, _ask("yesno", rng, split_templates, c=qc, o=qo), "yes" if truth else "no")
    raise ValueError(kind)


def questions(event: dict, rng: random.Random, split_templates: str = "train") -> list[QA]:
    """One question of every type that applies to `event`."""
    return [q for kind in TYPES if (q := question(event, kind, rng, split_templates)) is not None]
