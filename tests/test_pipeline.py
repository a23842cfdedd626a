"""The pipeline's merge steps: window triples -> document evidence, and the assertion stage's trims
(the threads themselves are exercised end to end by test_run.py)."""
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from etl.records import ABSENT, PRESENT, Document, Evidence
from etl.pipeline import Pipeline, PipelineOptions, best_per_place
from etl.windows import Window
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


def test_an_operation_of_the_history_is_no_treatment_of_the_admissions_disease(assertion_pipeline):
    text = "胃炎，腹痛3天。既往16年前行剖宫产手术。"
    operation = text.index("剖宫产")
    rows = [replace(_evidence("剖宫产", operation, 0.8, predicate="手术治疗"), object_type="手术治疗"),
            _evidence("腹痛", text.index("腹痛"), 0.9)]
    before = assertion_pipeline.report.triples_dropped_as_past_history
    [(_, judged)] = assertion_pipeline._assert([(Document(doc_id="d", source_file="-", content_hash="h"), rows, text)])
    assert [e.object for e in judged] == ["腹痛"]  # etl/history.py, past_event_of_another
    assert assertion_pipeline.report.triples_dropped_as_past_history == before + 1


def _finished(doc_id: str, triples: int) -> tuple[Document, list[Evidence]]:
    """A document as the assertion stage hands it to the writer, with `triples` evidence rows."""
    rows = [Evidence(doc_id=doc_id, subject="胃炎", subject_type="疾病", predicate="临床表现", object=f"症状{n}",
                     object_type="症状", score=0.9, subject_start=0, subject_end=2, object_start=3 + 4 * n,
                     object_end=6 + 4 * n, subject_assertion=PRESENT, object_assertion=PRESENT)
            for n in range(triples)]
    return Document(doc_id=doc_id, source_file="notes.parquet", content_hash=f"h-{doc_id}"), rows


def _gathering(tmp_path, **options):
    """A pipeline whose writer is the real `graph.sink = "none"` + --triples-out sink: each sink
    write is one Parquet row group, so the file shows how the documents were gathered."""
    from etl.config import GraphSettings
    from etl.graph import open_sink
    from etl.pipeline import WriteGatherer

    schema = load_schema()
    sink = open_sink(GraphSettings(sink="none"), schema=schema, triples_out=tmp_path / "t.parquet")
    report = RunReport(run_id="r", input="-", sink="-", started="-")
    pipeline = Pipeline(schema, SimpleNamespace(version="v"), SimpleNamespace(version="v"), sink=sink,
                        report=report, options=PipelineOptions(**options), quarantine=None)
    return pipeline, WriteGatherer(pipeline), sink


def test_finished_documents_are_gathered_into_writes_of_write_triples_rows(tmp_path):
    import pyarrow.parquet as pq

    pipeline, gathered, sink = _gathering(tmp_path, write_triples=5)
    for n, triples in enumerate((2, 2, 2, 0, 3, 1, 0)):  # as batches arrive from the assertion stage
        gathered.add([_finished(f"d{n}", triples)])
        if n == 2:  # 6 rows waiting >= 5: the first write, its three documents counted only now
            assert (pipeline.report.graph_writes, pipeline.report.documents_extracted) == (1, 3)
    assert pipeline.report.graph_writes == 1  # 4 rows of 4 documents wait for the end of the run
    gathered.flush()
    gathered.flush()  # nothing left: no empty write
    report = pipeline.report
    assert (report.graph_writes, report.documents_extracted, report.triples) == (2, 7, 10)
    sink.close()
    written = pq.ParquetFile(tmp_path / "t.parquet")
    assert [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)] == [6, 4]
    assert [sorted(written.read_row_group(i, columns=["doc_id"]).column(0).to_pylist()) for i in range(2)] == [
        ["d0", "d0", "d1", "d1", "d2", "d2"], ["d4", "d4", "d4", "d5"]]


def test_a_document_waits_at_most_write_seconds_for_its_write(tmp_path):
    import time

    pipeline, gathered, sink = _gathering(tmp_path, write_triples=1000, write_seconds=0.2)
    gathered.add([_finished("d0", 1)])
    gathered.add([_finished("d1", 1)])
    assert pipeline.report.graph_writes == 0
    time.sleep(0.25)
    gathered.add([_finished("d2", 0)])  # the oldest has waited long enough: all three are written
    assert (pipeline.report.graph_writes, pipeline.report.documents_extracted) == (1, 3)
    sink.close()


def test_one_predicate_per_pair_of_places_keeps_the_best_scoring():
    from etl.pipeline import one_predicate_per_pair

    rows = [_evidence("CEA", 9, 0.4, predicate="影像学检查"), _evidence("CEA", 9, 0.7, predicate="实验室检查"),
            _evidence("腹痛", 20, 0.5), _evidence("腹痛", 30, 0.6, predicate="治疗后症状")]
    kept = one_predicate_per_pair(rows)
    assert [(e.object, e.object_start, e.predicate) for e in kept] == [
        ("CEA", 9, "实验室检查"), ("腹痛", 20, "临床表现"), ("腹痛", 30, "治疗后症状")]


def test_a_note_gives_an_object_place_one_subject_and_a_cmeie_text_every_subject():
    from etl.conditions import MainCondition, Passage
    from etl.models.spans.model import SpanTriple
    from etl.pipeline import merge_triples, read_note
    from etl.schema import load_schema

    text = "胃炎，高血压，予奥美拉唑。"
    drug = text.index("奥美拉唑")

    def triple(subject, at, score, offset=0):
        return SpanTriple(subject, "药物治疗", "奥美拉唑", at + offset, at + offset + len(subject), drug + offset,
                          drug + offset + 4, 0.9, 0.9, score, "疾病", "药物")

    window = Window(0, len(text), text)
    note = Passage(window, MainCondition("胃炎", 0, 2, 0.9))
    width = len(note.prefix)
    merged = merge_triples("d", [note], [[triple("胃炎", 0, 0.7, width), triple("高血压", 3, 0.5, width)]],
                           {}, "r", load_schema())[0]
    assert [(e.subject, e.object) for e in read_note(text, merged)[0]] == [("胃炎", "奥美拉唑")]  # etl/attribution.py
    plain = merge_triples("d", [window], [[triple("胃炎", 0, 0.7), triple("高血压", 3, 0.5)]], {}, "r", load_schema())[0]
    assert sorted(e.subject for e in plain) == ["胃炎", "高血压"]


def test_a_note_leaves_out_a_subject_that_names_no_disease_read_in_the_whole_note():
    from etl.conditions import MainCondition, Passage
    from etl.models.spans.model import SpanTriple
    from etl.pipeline import merge_triples, read_note
    from etl.schema import load_schema

    text = "胃炎，腹部瘢痕，行腹部CT，头晕。做破伤风抗毒素皮试。"
    ct, dizzy = text.index("腹部CT"), text.index("头晕")

    def triple(subject, at, obj, where, predicate, kind, offset):
        return SpanTriple(subject, predicate, obj, at + offset, at + offset + len(subject), where + offset,
                          where + offset + len(obj), 0.9, 0.9, 0.8, "疾病", kind)

    tetanus = text.index("破伤风")
    window = Window(0, tetanus + 3, text[:tetanus + 3])  # the window ends right after 破伤风
    note = Passage(window, MainCondition("胃炎", 0, 2, 0.9))
    width = len(note.prefix)
    merged = merge_triples("d", [note], [[triple("瘢痕", text.index("瘢痕"), "腹部CT", ct, "影像学检查", "检查", width),
                                          triple("破伤风", tetanus, "头晕", dizzy, "临床表现", "症状", width),
                                          triple("胃炎", 0, "头晕", dizzy, "临床表现", "症状", width)]],
                           {}, "r", load_schema())[0]
    assert len(merged) == 3  # the window alone cannot tell
    kept, listed, not_diseases = read_note(text, merged)
    assert [(e.subject, e.object) for e in kept] == [("胃炎", "头晕")] and (listed, not_diseases) == (0, 2)


def test_a_section_without_a_main_condition_is_read_by_the_notes_rules_but_a_cmeie_text_is_not():
    from etl.conditions import Passage, stated_topic
    from etl.models.spans.model import SpanTriple
    from etl.pipeline import merge_triples, read_note
    from etl.schema import load_schema

    text = "胸片示心影增大。头部瘢痕，胃炎，高血压，予奥美拉唑。"
    heart, drug = text.index("心影"), text.index("奥美拉唑")

    def triple(subject, obj, where, predicate, kind, offset=0):
        at = text.index(subject)
        return SpanTriple(subject, predicate, obj, at + offset, at + offset + len(subject), where + offset,
                          where + offset + len(obj), 0.9, 0.9, 0.8, "疾病", kind)

    found = [triple("胃炎", "心影", heart, "影像学检查", "检查"), triple("瘢痕", "奥美拉唑", drug, "药物治疗", "药物"),
             triple("胃炎", "奥美拉唑", drug, "药物治疗", "药物"), triple("高血压", "奥美拉唑", drug, "药物治疗", "药物")]
    section = Passage(Window(0, len(text), text), None)  # a physical exam or a course: no diagnosis named
    merged = merge_triples("d", [section], [found], {}, "r", load_schema())[0]
    assert [(e.subject, e.object) for e in merged] == [("瘢痕", "奥美拉唑"), ("胃炎", "奥美拉唑"), ("高血压", "奥美拉唑")]
    kept, listed, not_diseases = read_note(text, merged, whole=False)  # its subjects only: no main condition
    assert [(e.subject, e.object) for e in kept] == [("胃炎", "奥美拉唑"), ("高血压", "奥美拉唑")]
    assert (listed, not_diseases) == (0, 1)
    topic = "胃炎@"  # a CMeIE text states its topic and keeps its textbook words
    cmeie = Passage(Window(0, len(topic + text), topic + text), stated_topic(topic + text))
    shifted = [triple("胃炎", "心影", heart, "影像学检查", "检查", len(topic))]
    assert [e.object for e in merge_triples("d", [cmeie], [shifted], {}, "r", load_schema())[0]] == ["心影"]
