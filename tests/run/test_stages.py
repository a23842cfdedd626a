"""The run's model stages (etl/run/stages.py): the assertion stage's trims and its past-event rule
(the stages end to end are exercised by tests/run/test_run.py)."""
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from etl.records import ABSENT, PRESENT, Document, Evidence
from etl.run import stages
from etl.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def _evidence(obj: str, start: int, score: float, predicate: str = "临床表现") -> Evidence:
    return Evidence(doc_id="d", subject="胃炎", subject_type="疾病", predicate=predicate, object=obj,
                    object_type="症状", score=score, subject_start=0, subject_end=2,
                    object_start=start, object_end=start + len(obj))


@pytest.fixture(scope="module")
def assertion_models():
    from etl.models.assertion.model import AssertionClassifier

    folder = ROOT / "models" / "assertion"
    assert (folder / "weights.h5").is_file(), "the shipped assertion model is missing"
    models = SimpleNamespace(version="test")  # stages 1 and 2 are not used by the stage under test
    return stages.Models(load_schema(), models, models, assertions=AssertionClassifier.load(folder))


def test_a_trimmed_cue_that_lands_on_another_span_makes_one_evidence(assertion_models):
    # The span model found both 无恶心 and 恶心 for one place: trimming the cue makes them the same
    # evidence, which the store keeps once; the report must count it once too.
    text = "胃炎患者无恶心，有腹痛。"
    start = text.index("无恶心")
    rows = [_evidence("无恶心", start, 0.8), _evidence("恶心", start + 1, 0.6),
            _evidence("腹痛", text.index("腹痛"), 0.9)]
    document = Document(doc_id="d", source_file="-", content_hash="h")
    [(_, judged)], counts = stages.assertions(assertion_models, [(document, rows, text)])
    assert counts.assertion_mentions == 4  # the places judged: 胃炎, 无恶心, 恶心, 腹痛
    assert [(e.object, e.object_start, e.object_assertion, e.score) for e in judged] == [
        ("恶心", start + 1, ABSENT, 0.8), ("腹痛", text.index("腹痛"), PRESENT, 0.9)]
    assert all(e.subject_assertion == PRESENT for e in judged)


def test_an_operation_of_the_history_is_no_treatment_of_the_admissions_disease(assertion_models):
    text = "胃炎，腹痛3天。既往16年前行剖宫产手术。"
    operation = text.index("剖宫产")
    rows = [replace(_evidence("剖宫产", operation, 0.8, predicate="手术治疗"), object_type="手术治疗"),
            _evidence("腹痛", text.index("腹痛"), 0.9)]
    document = Document(doc_id="d", source_file="-", content_hash="h")
    [(_, judged)], counts = stages.assertions(assertion_models, [(document, rows, text)])
    assert [e.object for e in judged] == ["腹痛"]  # etl/notes/attribution.py, past_event_of_another
    assert counts.triples_dropped_as_past_history == 1


