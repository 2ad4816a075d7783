"""The concept head of the `objects` bundle: one text embedding per ImageNet class (ConSE, Norouzi et al. 2014).

Each class's prompts are made here from its WordNet lemmas (timm's ImageNet info files list them in the
classifier's order), the family it belongs to (a hand-written table of class ranges below) and a few everyday
names written for classes people search for under another word ("a rabbit" for the hare). A class's embedding
is the normalised mean of the stock all-MiniLM-L6-v2 embeddings of its prompts.
"""
import os
import re

import torch

# Families of ImageNet-1k class indices (inclusive ranges), in the classifier's order. Written for vjsearch from
# the class list; used to add "a kind of …" to each prompt so that general queries ("a dog", "a bird") reach
# the specific classes.
FAMILIES = [
    ((0, 6), "fish"), ((7, 24), "bird"), ((25, 32), "amphibian"), ((33, 37), "turtle"), ((38, 48), "lizard"),
    ((49, 50), "crocodile"), ((51, 51), "dinosaur"), ((52, 68), "snake"), ((69, 69), "arthropod"),
    ((70, 77), "spider"), ((78, 79), "insect"), ((80, 100), "bird"), ((101, 106), "mammal"),
    ((107, 115), "sea creature"), ((116, 126), "crustacean"), ((127, 146), "bird"), ((147, 150), "sea mammal"),
    ((151, 268), "dog"), ((269, 272), "wolf"), ((273, 275), "wild dog"), ((276, 280), "fox"), ((281, 285), "cat"),
    ((286, 293), "big cat"), ((294, 297), "bear"), ((298, 299), "mongoose"), ((300, 320), "insect"),
    ((321, 326), "butterfly"), ((327, 329), "sea creature"), ((330, 332), "rabbit"), ((333, 338), "rodent"),
    ((339, 339), "horse"), ((340, 340), "zebra"), ((341, 343), "pig"), ((344, 344), "hippopotamus"),
    ((345, 354), "farm or wild animal with hooves"), ((355, 355), "llama"), ((356, 361), "weasel"),
    ((362, 364), "mammal"), ((365, 384), "monkey or ape"), ((385, 386), "elephant"), ((387, 388), "panda"),
    ((389, 397), "fish"), ((398, 923), None), ((924, 969), "food"), ((970, 980), "landscape"),
    ((981, 983), "person"), ((984, 997), "plant or mushroom"), ((998, 999), None),
]

# Everyday names for classes whose WordNet lemmas are not what people type, written for vjsearch.
EVERYDAY = {
    "hare": ["a rabbit", "a hare"],
    "wood rabbit": ["a rabbit", "a bunny"],
    "Angora": ["a fluffy rabbit"],
    "tabby": ["a cat"], "tiger cat": ["a cat"], "Persian cat": ["a cat"], "Egyptian cat": ["a cat"],
    "Siamese cat": ["a cat"],
    "fox squirrel": ["a squirrel"],
    "monarch": ["a butterfly"], "admiral": ["a butterfly"], "ringlet": ["a butterfly"],
    "cabbage butterfly": ["a white butterfly"], "sulphur butterfly": ["a yellow butterfly"],
    "lycaenid": ["a small butterfly"],
    "sports car": ["a car"], "convertible": ["a car"], "cab": ["a taxi", "a car"], "limousine": ["a car"],
    "minivan": ["a car", "a van"], "beach wagon": ["a car"], "racer": ["a racing car"], "jeep": ["a car"],
    "police van": ["a police car"], "pickup": ["a pickup truck"], "Model T": ["an old car"],
    "mountain bike": ["a bicycle", "a bike"], "bicycle-built-for-two": ["a bicycle"],
    "moped": ["a scooter", "a motorbike"], "motor scooter": ["a scooter", "a motorbike"],
    "trolleybus": ["a bus"], "school bus": ["a bus"], "passenger car": ["a train carriage"],
    "electric locomotive": ["a train"], "steam locomotive": ["a train"], "bullet train": ["a train"],
    "streetcar": ["a tram"], "airliner": ["an aeroplane", "an airplane"], "warplane": ["a military aeroplane"],
    "pizza": ["a pizza"], "cheeseburger": ["a burger", "a hamburger"], "hotdog": ["a hot dog"],
    "Granny Smith": ["an apple", "a green apple"], "orange": ["an orange", "fruit"], "lemon": ["a lemon", "fruit"],
    "banana": ["a banana", "fruit"], "strawberry": ["a strawberry", "fruit"], "pineapple": ["a pineapple", "fruit"],
    "seashore": ["a beach", "the sea", "the coast"], "lakeside": ["a lake"], "alp": ["mountains", "snowy mountains"],
    "volcano": ["a volcano", "a mountain"], "valley": ["a valley", "hills"], "cliff": ["a cliff"],
    "coral reef": ["a coral reef", "underwater"], "geyser": ["a geyser"], "promontory": ["a headland"],
    "sandbar": ["a sandbank", "a beach"],
    "refrigerator": ["a fridge", "a refrigerator"], "notebook": ["a laptop computer"], "laptop": ["a laptop"],
    "desktop computer": ["a computer"], "monitor": ["a computer screen"], "screen": ["a screen"],
    "television": ["a television", "a TV"], "cellular telephone": ["a mobile phone", "a smartphone"],
    "acoustic guitar": ["a guitar"], "electric guitar": ["a guitar"], "grand piano": ["a piano"],
    "upright": ["a piano"], "soccer ball": ["a football", "a soccer ball"], "basketball": ["a basketball"],
    "tennis ball": ["a tennis ball"], "ping-pong ball": ["a table tennis ball"], "rugby ball": ["a rugby ball"],
    "golden retriever": ["a dog"], "Labrador retriever": ["a dog"], "German shepherd": ["a dog"],
    "beagle": ["a dog"], "pug": ["a dog"], "Chihuahua": ["a small dog"],
    "baboon": ["a monkey", "a baboon"], "chimpanzee": ["an ape", "a chimp"], "gorilla": ["an ape"],
    "goldfish": ["a fish", "a goldfish"], "tench": ["a fish"], "great white shark": ["a shark"],
    "tiger shark": ["a shark"], "hammerhead": ["a shark"],
    "cock": ["a chicken", "a rooster"], "hen": ["a chicken", "a hen"], "ostrich": ["a big bird"],
    "African elephant": ["an elephant"], "Indian elephant": ["an elephant"], "tusker": ["an elephant"],
    "giant panda": ["a panda"], "brown bear": ["a bear"], "ice bear": ["a polar bear"],
    "ox": ["a cow", "cattle"], "sorrel": ["a horse"], "ram": ["a sheep"], "bighorn": ["a wild sheep"],
    "tiger": ["a tiger"], "lion": ["a lion"], "zebra": ["a zebra"], "hippopotamus": ["a hippo"],
    "park bench": ["a bench"], "dining table": ["a table"], "studio couch": ["a sofa", "a couch"],
    "four-poster": ["a bed"], "rocking chair": ["a chair"], "folding chair": ["a chair"],
    "table lamp": ["a lamp"], "wall clock": ["a clock"], "analog clock": ["a clock"], "digital clock": ["a clock"],
    "mailbox": ["a letter box"], "traffic light": ["traffic lights"], "street sign": ["a road sign"],
    "umbrella": ["an umbrella"], "backpack": ["a backpack", "a rucksack"], "sunglasses": ["sunglasses"],
    "daisy": ["a flower", "daisies"], "yellow lady's slipper": ["a flower", "an orchid"],
    "mushroom": ["a mushroom"], "ear": ["corn"], "acorn": ["an acorn"],
    "scuba diver": ["a diver", "a person diving"], "groom": ["a man in a suit", "a bridegroom"],
    "ballplayer": ["a baseball player", "a person playing baseball"],
    "pier": ["a pier", "a jetty"], "dock": ["a harbour", "a dock"], "boathouse": ["a boathouse"],
    "speedboat": ["a boat", "a speedboat"], "canoe": ["a canoe", "a boat"], "yawl": ["a sailing boat"],
    "catamaran": ["a sailing boat"], "container ship": ["a ship", "a cargo ship"], "liner": ["a cruise ship"],
    "fireboat": ["a boat"], "lifeboat": ["a boat"], "gondola": ["a boat"],
    "suspension bridge": ["a bridge"], "steel arch bridge": ["a bridge"], "viaduct": ["a bridge"],
    "church": ["a church"], "palace": ["a palace"], "castle": ["a castle"], "mosque": ["a mosque"],
    "barn": ["a barn", "a farm building"], "library": ["a library", "bookshelves"],
    "restaurant": ["a restaurant"], "grocery store": ["a supermarket", "a shop"], "cinema": ["a cinema"],
    "fountain": ["a fountain"], "beacon": ["a lighthouse"],
}

BINOMIAL = re.compile(r"^[A-Z][a-z]+ [a-z]+$")  # "Danaus plexippus", "Bufo marinus": Latin names are dropped


def info_folder():
    """timm's ImageNet info files, found without importing timm (which would import torchvision)."""
    import importlib.util
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("timm is not installed (run Tools/setup-venv.sh)")
    return os.path.join(list(spec.submodule_search_locations)[0], "data", "_info")


def classes():
    """(lemmas, definition) per ImageNet-1k class, in the classifier's order."""
    info = info_folder()

    def table(name):
        with open(os.path.join(info, name)) as f:
            return dict(line.rstrip("\n").split("\t", 1) for line in f)

    lemmas, definitions = table("imagenet_synset_to_lemma.txt"), table("imagenet_synset_to_definition.txt")
    with open(os.path.join(info, "imagenet_synsets.txt")) as f:
        synsets = [line.strip() for line in f if line.strip()]
    return [([n.strip() for n in lemmas[s].split(",") if n.strip()], definitions[s]) for s in synsets]


def family(index):
    for (lo, hi), name in FAMILIES:
        if lo <= index <= hi:
            return name
    return None


def article(noun):
    return "an" if noun[:1].lower() in "aeiou" else "a"


def prompts(index, lemmas, definition):
    """The prompts of one class: its common names in a few sentence frames, the family, the WordNet gloss and
    the everyday names."""
    names = [n for n in lemmas if not BINOMIAL.match(n)][:3] or lemmas[:1]
    kind = family(index)
    out = []
    for n in names:
        out.append(f"a photo of {article(n)} {n}.")
        out.append(f"a video of {article(n)} {n}" + (f", a kind of {kind}." if kind else "."))
    out.append(f"{names[0]}: {definition}")
    out += EVERYDAY.get(lemmas[0], [])
    return out


def embed(texts, model_dir, batch=256):
    """Stock all-MiniLM-L6-v2 embeddings: masked mean of the last hidden state, L2-normalised."""
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            enc = tok(texts[i:i + batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
    return torch.cat(out)


def concept_matrix(model_dir):
    """[1000 × 384] unit rows (one per class) and the prompts used, per class."""
    per_class = [prompts(i, lemmas, definition) for i, (lemmas, definition) in enumerate(classes())]
    flat = [p for ps in per_class for p in ps]
    vectors = embed(flat, model_dir)
    rows, start = [], 0
    for ps in per_class:
        rows.append(torch.nn.functional.normalize(vectors[start:start + len(ps)].mean(0), dim=0))
        start += len(ps)
    return torch.stack(rows), per_class
