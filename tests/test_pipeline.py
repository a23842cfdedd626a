"""The pipeline's merge steps: window triples -> document evidence, and the assertion stage's trims
(the threads themselves are exercised end to end by test_run.py)."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from etl.graph.records import ABSENT, PRESENT, Document, Evidence
from etl.pipeline import Pipeline, PipelineOptions, best_per_place
from etl.report import RunReport
from etl.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]


def _evidence(obj: str, start: int, score: float, predicate: str = "临床表现") -> Evidence:
    return Evidence(doc_id="d", subject="胃炎", subject_type="疾病", predicate=predicate, object=obj,
                    object_type="症状", score=score, subject_start=0, subject_end=2,
                    object_start=start, object_end=start + len(obj))


def test_best_per_place_keeps_the_best_score_per_predicate_and_place_in_document_order():
    rows = [_evidence("腹痛", 9, 0.4), _evidence("恶心", 5, 0.7), _evidence("腹痛", 9, 0.9),
            _evidence("腹痛", 9, 0.5, predicate="并发症"), _evidence("恶心", 5, 0.7)]
    kept = best_per_place(rows)
    assert [(e.object_start, e.predicate, e.score) for e in kept] == [
        (5, "临床表现", 0.7), (9, "临床表现", 0.9), (9, "并发症", 0.5)]


@pytest.fixture(scope="module")
def assertion_pipeline():
    from etl.models.assertion.model import AssertionClassifier

    folder = ROOT / "models" / "assertion"
    assert (folder / "weights.h5").is_file(), "the shipped assertion model is missing"
    models = SimpleNamespace(version="test")  # stages 1 and 2 are not used by the merge under test
    report = RunReport(run_id="r", input="-", sink="-", started="-")
    return Pipeline(load_schema(), models, models, sink=None, report=report, options=PipelineOptions(),
                    quarantine=None, assertions=AssertionClassifier.load(folder))


def test_a_trimmed_cue_that_lands_on_another_span_makes_one_evidence(assertion_pipeline):
    # The span model found both 无恶心 and 恶心 for one place: trimming the cue makes them the same
    # evidence, which the store keeps once; the report must count it once too.
    text = "胃炎患者无恶心，有腹痛。"
    start = text.index("无恶心")
    rows = [_evidence("无恶心", start, 0.8), _evidence("恶心", start + 1, 0.6), _evidence("腹痛", text.index("腹痛"), 0.9)]
    document = Document(doc_id="d", source_file="-", content_hash="h")
    [(_, judged)] = assertion_pipeline._assert([(document, rows, text)])
    assert [(e.object, e.object_start, e.object_assertion, e.score) for e in judged] == [
        ("恶心", start + 1, ABSENT, 0.8), ("腹痛", text.index("腹痛"), PRESENT, 0.9)]
    assert all(e.subject_assertion == PRESENT for e in judged)
