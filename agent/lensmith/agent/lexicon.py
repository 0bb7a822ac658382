"""The words the claim extractor reads: predicates no tool measures (colours, actions,
relations, emotions, scene, clothing), and the function words that shape a claim
(quantifier fillers, hedges, negators, clause breaks, positions).

Object words are not here: they come from the one vocabulary, :mod:`lensmith.runtime.vocab`.
"""

from __future__ import annotations

COLOURS = {
    "white", "black", "red", "blue", "green", "yellow", "orange", "brown", "grey", "gray", "pink",
    "purple", "silver", "gold", "golden", "beige", "dark", "navy", "teal", "maroon", "tan", "blond",
    "blonde", "colorful", "colourful", "multicolored", "multicoloured", "striped", "spotted",
}  # fmt: skip
ACTIONS = {
    "standing", "stands", "stand", "sitting", "sits", "sit", "seated", "walking", "walks", "running",
    "runs", "sleeping", "sleeps", "asleep", "lying", "lies", "laying", "talking", "playing", "eating",
    "drinking", "riding", "rides", "driving", "drives", "waiting", "waits", "crossing", "posing",
    "poses", "jumping", "flying", "flies", "parked", "moving", "working", "resting", "staring",
    "facing", "crouching", "kneeling", "leaning", "pointing", "waving", "dancing", "swimming",
    "cooking", "typing", "shaking", "hugging", "celebrating", "travelling", "traveling",
    "approaching", "leaving", "arriving", "stopped", "boarding", "grazing", "perched", "climbing",
    "skating", "surfing", "skiing", "throwing", "catching", "kicking", "hitting", "watching",
    "looking", "sleep", "walk", "run", "sat", "stood",
}  # fmt: skip
EMOTIONS = {
    "happy", "sad", "angry", "upset", "smiling", "smile", "smiles", "laughing", "excited", "calm",
    "relaxed", "surprised", "worried", "cheerful", "serious", "bored", "scared", "afraid", "tired",
    "content", "proud", "focused", "joyful", "annoyed", "frustrated", "nervous", "confident",
    "friendly", "grumpy", "sleepy", "curious", "playful", "pensive", "thoughtful", "unhappy",
}  # fmt: skip
# (words, category): relation phrases, longest first
RELATIONS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (tuple(p.split()), "relation")
    for p in sorted(
        ["in front of", "on top of", "next to", "close to", "to the left of", "to the right of",
         "on the left of", "on the right of", "left of", "right of", "beside", "behind", "under",
         "underneath", "beneath", "above", "below", "near", "nearby", "between", "inside", "among",
         "against", "holding", "holds", "hold", "carrying", "carries", "wearing", "wears", "using",
         "surrounded by", "attached to", "leaning on", "sitting on", "standing on", "in the hands of"],
        key=lambda p: -len(p.split()),
    )
)  # fmt: skip
SCENE_WORDS = {
    "indoors", "outdoors", "indoor", "outdoor", "sunny", "rainy", "cloudy", "snowy", "foggy", "night",
    "nighttime", "daytime", "dusk", "dawn", "sunset", "sunrise", "evening", "morning", "afternoon",
}  # fmt: skip
SCENE_NOUNS = {
    "street", "road", "stadium", "kitchen", "office", "beach", "park", "garden", "field", "forest",
    "garage", "room", "restaurant", "airport", "station", "city", "town", "space", "studio", "background",
    "foreground", "house", "home", "building", "countryside", "mountain", "mountains", "desert", "snow",
    "water", "sea", "lake", "river", "sky", "crowd", "market", "shop", "store", "lobby", "hotel", "classroom",
    "bedroom", "bathroom", "living", "hall", "pitch", "court", "arena", "club", "bar", "cafe", "night", "dusk",
    "dawn", "day", "sunset", "lawn", "grass",
}  # fmt: skip
CLOTHING = {
    "suit", "suits", "jacket", "jackets", "shirt", "shirts", "dress", "dresses", "hat", "hats", "uniform",
    "uniforms", "coat", "coats", "sunglasses", "jeans", "shorts", "scarf", "cap", "caps", "sweater",
    "hoodie", "vest", "skirt", "boots", "shoes", "gloves", "costume", "glasses", "spacesuit",
}  # fmt: skip
ADJECTIVES = {
    "wooden", "metal", "metallic", "plastic", "large", "big", "small", "tiny", "huge", "tall", "short",
    "old", "new", "young", "elderly", "empty", "full", "open", "closed", "broken", "wet", "dry", "clean",
    "dirty", "bright", "shiny", "electric", "modern", "vintage", "round", "square", "fluffy", "furry",
    "long", "thin", "fat", "heavy", "cute", "beautiful", "busy", "crowded", "famous", "blurry", "blurred",
}  # fmt: skip
# words allowed between a quantity and its noun without being claims of their own
FILLERS = {
    "other", "more", "distinct", "separate", "visible", "different", "of", "the", "x", "×", "detected",
    "clearly", "only", "exactly", "about", "approximately", "roughly", "around", "instances",
    "instance", "partial", "partially", "whole", "entire", "individual", "additional", "single", "lone",
    "standing", "sitting", "parked", "adult", "baby", "stuffed", "these", "those", "its", "their",
    "his", "her", "my", "your", "our",
}  # fmt: skip
HEDGES = {
    "might", "may", "maybe", "possibly", "perhaps", "probably", "likely", "could", "seems", "seem",
    "appears", "appear", "apparently", "think", "guess", "believe", "unclear", "uncertain", "presumably",
}  # fmt: skip
POSITIONS = {
    "left": "left", "right": "right", "top": "top", "bottom": "bottom", "upper": "top",
    "lower": "bottom", "center": "center", "centre": "center", "middle": "middle",
}  # fmt: skip
POSITION_CUES = {"on", "at", "in", "to", "toward", "towards", "near"}
PREPOSITIONS = {"near", "nearby", "beside", "behind", "under", "underneath", "beneath", "above", "below", "between",
                "inside", "among", "against", "along", "across", "around", "through", "toward", "towards", "within"}
IMAGE_NOUNS = {"image", "images", "photo", "photos", "picture", "pictures", "pic", "pics", "shot", "shots", "one", "frame", "photograph"}  # fmt: skip
# nouns that are about the answer, the tools or the frame, never claims about the scene
META_NOUNS = IMAGE_NOUNS | {
    "view", "detector", "detection", "detections", "tool", "tools", "result", "results", "box", "boxes",
    "confidence", "score", "scores", "class", "classes", "object", "objects", "thing", "things", "item",
    "items", "bit", "lot", "lots", "few", "couple", "number", "total", "kind", "type", "sort", "way",
    "time", "moment", "part", "side", "area", "region", "corner", "edge", "top", "bottom", "left", "right",
    "middle", "center", "centre", "word", "words", "text", "line", "lines", "question", "answer", "look",
    "glance", "mask", "overlay", "model", "method", "fallback", "measurement", "version", "copy", "file",
    "folder", "match", "matches", "caption", "description", "summary", "evidence", "reason", "chance",
    "possibility", "doubt", "idea", "ones", "others", "something", "anything", "everything", "nothing",
    "lensmith", "ocr", "yolo", "coco", "vocabulary", "list", "set", "dozen", "pair", "group", "variety",
    "close", "closer", "distance", "glimpse", "sense", "little", "while", "bunch", "sign's", "percent", "pixels", "pixel", "quarter", "third", "half", "share", "min", "minimum", "threshold",
    "range", "series", "sample", "samples", "session", "turn", "call", "segment", "segmentation",
}  # fmt: skip
FUNCTION = {
    "a", "an", "the", "and", "or", "nor", "but", "of", "in", "on", "at", "to", "for", "with", "by", "from",
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "it", "its", "this", "that",
    "these", "those", "there", "here", "which", "who", "whom", "what", "where", "when", "while", "as",
    "so", "than", "then", "also", "too", "very", "just", "only", "not", "no", "n't", "i", "you", "we",
    "they", "he", "she", "them", "his", "her", "their", "our", "my", "your", "do", "does", "did", "can",
    "could", "would", "should", "will", "may", "might", "must", "shows", "show", "showing", "shown",
    "see", "sees", "seen", "visible", "appear", "appears", "seems", "looks", "look", "some", "any", "all",
    "each", "every", "both", "either", "neither", "one", "two", "into", "onto", "up", "down", "out", "over",
    "off", "about", "like", "if", "whether", "because", "since", "though", "although", "yet", "however",
    "found", "detected", "contains", "contain", "holds", "sits", "stands", "lies", "says", "reads",
}  # fmt: skip
CLAUSE_BREAKS = {";", ":", "but", "however", "although", "though", "whereas", "while", "yet", "(", ")"}
VERBAL_NEGATORS = {"not", "n't", "never", "cannot", "without", "neither", "nor"}
COPULAS = {"is", "are", "was", "were", "be", "appear", "appears", "seem", "seems", "look", "looks"}
ABSENT_PREDICATES = {"visible", "present", "here", "there", "in", "detected", "found", "shown", "seen", "around", "pictured", "anywhere"}  # fmt: skip
COMPOUND_HEADS = {
    "stop", "stops", "station", "driver", "drivers", "lane", "shelter", "route", "ticket", "window",
    "windows", "door", "doors", "seat", "seats", "food", "toy", "house", "park", "tracks", "track",
    "stand", "rack", "shop", "store", "company", "line", "number", "plate", "sign", "poster", "logo",
    "image", "picture", "photo", "stadium", "owner", "bed", "leg", "legs", "tail", "face", "ear", "ears",
    "eyes", "fur", "collar", "handle", "saucer", "lid", "wheel", "wheels", "tyre", "tire", "helmet",
    "light", "lights", "game", "team", "field", "court", "player", "players", "holder", "case",
}  # fmt: skip
ACTIONS |= {
    "poses", "pose", "posing", "smiles", "eats", "eat", "drinks", "drink", "plays", "play", "waves", "wave",
    "jumps", "jump", "leans", "lean", "points", "point", "watches", "watch", "stares", "stare", "crosses", "cross",
    "swims", "swim", "kneels", "kneel", "hugs", "hug", "laughs", "laugh", "cries", "cry", "crying", "dances",
    "dance", "barking", "barks", "chasing", "chases", "shopping", "talks", "talk", "sleeping", "resting", "rests",
    "kicks", "throws", "catches", "hits", "skates", "surfs", "skis", "climbs", "grazes", "perches", "stops",
}  # fmt: skip
# words ending in -ing that are not actions of anyone in the picture
NOT_ACTIONS = {
    "according", "including", "something", "anything", "nothing", "everything", "building", "buildings",
    "ceiling", "clothing", "morning", "evening", "during", "reading", "writing", "printing", "thing", "things",
    "king", "ring", "string", "wing", "wings", "spring", "bring", "missing", "matching", "remaining",
    "interesting", "following", "being", "seeming", "lighting", "parking", "opening", "heading", "painting",
    "drawing", "setting", "sitting", "standing", "looking", "showing", "containing", "appearing", "seeing",
    "detecting", "measuring", "counting", "answering", "asking", "checking", "using", "holding", "wearing",
    "carrying", "bearing", "ping", "padding", "marking", "markings", "spacing", "bedding",
}  # fmt: skip

EMOTIONS |= {
    "frowning", "frown", "frowns", "crying", "joy", "joyous", "anger", "fear", "fearful", "delighted", "pleased",
    "miserable", "lonely", "shy", "embarrassed", "anxious", "stressed", "peaceful", "content", "amused",
    "determined", "gloomy", "grim", "glad", "bored", "sleepy", "alert", "cheerful", "somber", "sombre", "tense",
}  # fmt: skip
SCENE_WORDS |= {"raining", "snowing", "windy", "stormy", "overcast", "foggy", "dark", "nighttime", "midday", "summer", "winter", "autumn", "spring"}  # fmt: skip
SCENE_NOUNS |= {
    "supermarket", "mall", "library", "museum", "church", "school", "hospital", "farm", "zoo", "harbor", "harbour",
    "port", "bridge", "highway", "sidewalk", "pavement", "square", "plaza", "stage", "concert", "party", "wedding",
    "match", "game", "event", "ceremony", "conference", "meeting", "runway", "track", "platform", "terminal",
    "tunnel", "alley", "neighbourhood", "neighborhood", "village", "suburb", "downtown", "backyard", "yard",
    "porch", "balcony", "rooftop", "basement", "corridor", "hallway", "warehouse", "factory", "workshop",
    "laboratory", "lab", "gym", "pool", "ocean", "shore", "coast", "island", "jungle", "savanna", "meadow",
}  # fmt: skip
RELATIONS = tuple(sorted(
    set(RELATIONS) | {(tuple(p.split()), "relation") for p in (
        "across from", "opposite", "alongside", "on the edge of", "at the edge of", "facing", "in the hands of",
        "over", "around", "leaning against", "lying on", "hanging from", "attached to", "filled with", "full of",
        "covered in", "covered with", "surrounded by", "in the middle of", "on the back of", "riding")},
    key=lambda r: -len(r[0]),
))  # fmt: skip
