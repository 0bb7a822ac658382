"""The grounding checker, claim by claim, and the planted hallucination end to end."""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import AIMessage

from lensmith.agent.claims import extract_claims
from lensmith.agent.grounding import check_answer, fuzzy_contains, revision_request
from lensmith.agent.synonyms import canonical, caption_objects, inverse_synonyms, singularize
from lensmith.agent.trace import ToolCallRecord, Verdict
from lensmith.runtime.artifacts import DetectArtifact, Detection, OcrArtifact

SIZE = {"img:aaaa0001": (600.0, 300.0)}


def detect_call(detections, *, call_id="d1", queried=(), not_detectable=(), min_score=0.25, image="img:aaaa0001"):
    art = DetectArtifact(
        tool="detect", image=image, method="yolo", vocabulary_size=80, min_score=min_score,
        queried=list(queried), not_detectable=list(not_detectable),
        detections=[Detection(label=lab, score=s, box=list(b)) for lab, s, b in detections],
    )  # fmt: skip
    return ToolCallRecord(call_id=call_id, tool="detect", artifact=art)


def ocr_call(text, call_id="o1"):
    art = OcrArtifact(tool="read_text", image="img:aaaa0001", method="easyocr", full_text=text, lines=text.splitlines())
    return ToolCallRecord(call_id=call_id, tool="read_text", artifact=art)


ONE_CAT = detect_call([("cat", 0.85, (10, 10, 150, 280))])
PEOPLE = detect_call([("person", 0.9, (0, 0, 100, 300)), ("person", 0.8, (250, 0, 350, 300)), ("person", 0.3, (500, 0, 590, 300)), ("bus", 0.93, (0, 0, 600, 300))])  # fmt: skip


def one(answer, calls, kind=None):
    verdicts = check_answer(answer, calls, image_sizes=SIZE)
    if kind:
        verdicts = [v for v in verdicts if v.kind == kind]
    assert len(verdicts) == 1, verdicts
    return verdicts[0]


# ---- synonyms -----------------------------------------------------------------
def test_synonyms_and_plurals():
    assert canonical("people") == "person"
    assert canonical("kittens") == "cat"
    assert canonical("benches") == "bench"
    assert canonical("horses") == "horse"
    assert canonical("ties") == "tie"
    assert canonical("buses") == "bus"
    assert canonical("wine glasses") == "wine glass"
    assert canonical("printer") is None
    assert singularize("puppies") == "puppy" and singularize("glass") == "glass"
    assert len(inverse_synonyms()) > 350  # the CHAIR list's words


def test_caption_objects_follows_chair_rules():
    words, nodes = caption_objects("A baby elephant next to a toilet seat and two motor bikes.")
    assert nodes == ["elephant", "toilet", "motorcycle"]
    assert words[0] == "elephant"  # "baby elephant" is an elephant, not a person


# ---- extraction ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("There are two cats.", [("count", "cat", 2)]),
        ("I see 3 people.", [("count", "person", 3)]),
        ("I can see a dog.", [("presence", "dog", True)]),
        ("There are no dogs.", [("absence", "dog", False)]),
        ("There isn't any dog here.", [("absence", "dog", False)]),
        ("I don't see a bus.", [("absence", "bus", False)]),
        ("There is none.", []),
        ("Several people wait.", [("count", "person", ">=2")]),
        ("Detected: 4 × person (0.90, 0.83), 1 × bus (0.94).", [("count", "person", 4), ("count", "bus", 1)]),
        ("There is a cat but no dog.", [("presence", "cat", True), ("absence", "dog", False)]),
        ("Is there anything else you want to know about the cat?", []),
    ],
)
def test_extraction(answer, expected):
    got = [(c.kind, c.subject, c.expected) for c in extract_claims(answer)]
    assert got == expected


def test_extraction_of_text_and_position():
    claims = extract_claims("The sign says 'EXIT'. A cat sits on the left.")
    kinds = [(c.kind, c.subject, c.expected) for c in claims]
    assert ("text", "EXIT", "EXIT") in kinds
    assert ("position", "cat", "left") in kinds


# ---- verdicts, claim by claim --------------------------------------------------
def test_count_supported_and_contradicted():
    assert one("There is one cat.", [ONE_CAT]).status == "supported"
    v = one("There are two cats.", [ONE_CAT])
    assert (v.status, v.expected, v.observed, v.evidence) == ("contradicted", 2, 1, ["d1"])


def test_people_supports_person_and_counts_use_min_score():
    assert one("I see 3 people.", [PEOPLE], "count").status == "supported"
    strict = PEOPLE.model_copy(update={"artifact": PEOPLE.artifact.model_copy(update={"min_score": 0.5})})
    v = one("I see 3 people.", [strict], "count")
    assert (v.status, v.observed) == ("contradicted", 2)


def test_presence_and_absence():
    assert one("There is a cat.", [ONE_CAT]).status == "supported"
    assert one("There is a dog.", [ONE_CAT]).status == "contradicted"
    assert one("There are no dogs.", [ONE_CAT]).status == "supported"
    assert one("There is no cat.", [ONE_CAT]).status == "contradicted"


def test_unverified_without_a_detector_or_outside_its_vocabulary():
    assert one("There is a cat.", []).status == "unverified"
    printer = detect_call([], queried=[], not_detectable=["printer"])
    v = one("There is no printer.", [printer])
    assert v.status == "unverified" and "cannot see" in v.reason
    only_cats = detect_call([("cat", 0.9, (0, 0, 10, 10))], queried=["cat"])
    v = one("There are no dogs.", [only_cats])
    assert v.status == "unverified" and "only for other classes" in v.reason


def test_restricted_query_still_checks_its_own_class():
    only_cats = detect_call([], queried=["cat"])
    assert one("There is no cat.", [only_cats]).status == "supported"


def test_failed_calls_are_not_evidence():
    failed = ONE_CAT.model_copy(update={"error": "boom"})
    assert one("There are two cats.", [failed]).status == "unverified"


def test_two_runs_on_one_image_are_one_measurement_two_images_add_up():
    again = detect_call([("cat", 0.85, (10, 10, 150, 280))], call_id="d2", queried=["cat"])
    assert one("There is one cat.", [ONE_CAT, again]).status == "supported"
    other = detect_call([("cat", 0.7, (0, 0, 50, 50))], call_id="d3", image="img:bbbb0002")
    assert one("There are two cats.", [ONE_CAT, other]).status == "supported"


def test_text_claims():
    ocr = ocr_call("EMERGENCY  exit\nFloor 2")
    assert one("The sign says 'EXIT'.", [ocr]).status == "supported"
    assert one('The sign says "Emergency Exit".', [ocr]).status == "supported"
    assert one("The sign says 'EXlT'.", [ocr]).status == "supported"  # one OCR-like edit
    v = one("The sign says 'ENTRANCE'.", [ocr])
    assert v.status == "contradicted" and v.evidence == ["o1"]
    assert one("The sign says 'EXIT'.", [ONE_CAT]).status == "unverified"
    assert fuzzy_contains("cero emisiones", "UN MINIBUS cero emisiones EMT")[0]
    assert not fuzzy_contains("PHARMACY", "BAKERY")[0]


def test_position_claims_use_image_thirds():
    left = one("The cat is on the left.", [ONE_CAT], "position")
    assert left.status == "supported"
    right = one("The cat is on the right.", [ONE_CAT], "position")
    assert right.status == "contradicted"
    middle = detect_call([("cat", 0.9, (250, 0, 350, 300))])
    assert one("The cat is on the left.", [middle], "position").status == "unverified"
    unknown = detect_call([("cat", 0.9, (0, 0, 50, 50))], image="img:ffff9999")
    assert one("The cat is on the left.", [unknown], "position").status == "unverified"


def test_colour_is_unverified():
    v = one("A red bus.", [PEOPLE], "attribute")
    assert v.status == "unverified"


def test_revision_request_lists_contradictions_only():
    verdicts = check_answer("There are two cats and no dogs.", [ONE_CAT])
    message = revision_request(verdicts)
    assert message is not None and "two cats" in message and "1 × cat" in message and "d1" in message
    assert "dog" not in message
    assert revision_request(check_answer("There is one cat.", [ONE_CAT])) is None
    assert revision_request([Verdict(claim="x", kind="presence", status="unverified")]) is None


def test_checker_is_deterministic_and_fast():
    answer = "There are two cats on the left, no dogs, 3 people and a bus. The sign says 'EXIT'. " * 5
    calls = [ONE_CAT, PEOPLE, ocr_call("EXIT")]
    first = check_answer(answer, calls, image_sizes=SIZE)
    started = time.perf_counter()
    for _ in range(20):
        assert check_answer(answer, calls, image_sizes=SIZE) == first
    assert (time.perf_counter() - started) / 20 < 0.05


# ---- end to end: the planted hallucination ---------------------------------------
@pytest.mark.slow
def test_planted_hallucination_is_caught_and_revised(tmp_path):
    from lensmith.agent.config import Settings
    from lensmith.agent.events import GroundingChecked
    from lensmith.agent.loop import Agent
    from lensmith.agent.planners.scripted import ScriptedChatModel, call
    from lensmith.evals.photos import photo_path, photos
    from lensmith.tools.detect import DetectTool
    from lensmith.tools.registry import Registry

    chelsea = photo_path(photos()["chelsea"], tmp_path)
    planner = ScriptedChatModel(
        replies=[
            call("detect", {"image": str(chelsea)}, call_id="call_detect"),
            AIMessage("There are two cats."),
            AIMessage("There is one cat."),
        ]
    )
    settings = Settings()
    settings.memory.enabled = False
    agent = Agent(settings=settings, planner=planner, registry=Registry([DetectTool()]), memory=False)
    events = []
    trace = agent.ask("How many cats are there?", [chelsea], on_event=events.append)
    assert trace.error is None, trace.error
    assert trace.drafts == ["There are two cats.", "There is one cat."]
    assert trace.answer == "There is one cat."
    assert [(v.kind, v.subject, v.status, v.observed) for v in trace.verdicts] == [("count", "cat", "supported", 1)]
    checked = [e for e in events if isinstance(e, GroundingChecked)]
    assert len(checked) == 1 and checked[0].revised
    # the revision request the planner saw names the contradicted claim and the evidence
    revision_prompt = " ".join(str(m.content) for m in planner.seen[-1])
    assert "two cats" in revision_prompt and "1 × cat" in revision_prompt


def test_quotes_outside_reading_sentences_are_not_text_claims():
    assert extract_claims('Put the weights in "$LENSMITH_WEIGHTS/sam.pth".') == []
    assert [c.kind for c in extract_claims('The label reads "OPEN".')] == ["text"]
