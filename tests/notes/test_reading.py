"""Window triples -> document evidence, and a note read as a whole (etl/notes/reading.py)."""
from etl.notes.reading import best_per_place
from etl.records import Evidence
from etl.windows import Window


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


def test_one_predicate_per_pair_of_places_keeps_the_best_scoring():
    from etl.notes.reading import one_predicate_per_pair

    rows = [_evidence("CEA", 9, 0.4, predicate="影像学检查"), _evidence("CEA", 9, 0.7, predicate="实验室检查"),
            _evidence("腹痛", 20, 0.5), _evidence("腹痛", 30, 0.6, predicate="治疗后症状")]
    kept = one_predicate_per_pair(rows)
    assert [(e.object, e.object_start, e.predicate) for e in kept] == [
        ("CEA", 9, "实验室检查"), ("腹痛", 20, "临床表现"), ("腹痛", 30, "治疗后症状")]


def test_a_note_gives_an_object_place_one_subject_and_a_cmeie_text_every_subject():
    from etl.notes.conditions import MainCondition, Passage
    from etl.models.spans.model import SpanTriple
    from etl.notes.reading import merge_triples, read_note
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
    assert [(e.subject, e.object)
            for e in read_note(text, merged)[0]] == [("胃炎", "奥美拉唑")]  # etl/notes/attribution.py
    plain = merge_triples("d", [window], [[triple("胃炎", 0, 0.7), triple("高血压", 3, 0.5)]],
                          {}, "r", load_schema())[0]
    assert sorted(e.subject for e in plain) == ["胃炎", "高血压"]


def test_a_note_leaves_out_a_subject_that_names_no_disease_read_in_the_whole_note():
    from etl.notes.conditions import MainCondition, Passage
    from etl.models.spans.model import SpanTriple
    from etl.notes.reading import merge_triples, read_note
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
    kept, listed, not_diseases, told_before = read_note(text, merged)
    assert ([(e.subject, e.object) for e in kept] == [("胃炎", "头晕")]
            and (listed, not_diseases, told_before) == (0, 2, 0))


def test_a_section_without_a_main_condition_is_read_by_the_notes_rules_but_a_cmeie_text_is_not():
    from etl.notes.conditions import Passage, stated_topic
    from etl.models.spans.model import SpanTriple
    from etl.notes.reading import merge_triples, read_note
    from etl.schema import load_schema

    text = "胸片示心影增大。头部瘢痕，胃炎，高血压，予奥美拉唑。"
    heart, drug = text.index("心影"), text.index("奥美拉唑")

    def triple(subject, obj, where, predicate, kind, offset=0):
        at = text.index(subject)
        return SpanTriple(subject, predicate, obj, at + offset, at + offset + len(subject), where + offset,
                          where + offset + len(obj), 0.9, 0.9, 0.8, "疾病", kind)

    found = [triple("胃炎", "心影", heart, "影像学检查", "检查"), triple("瘢痕", "奥美拉唑", drug, "药物治疗", "药物"),
             triple("胃炎", "奥美拉唑", drug, "药物治疗", "药物"),
             triple("高血压", "奥美拉唑", drug, "药物治疗", "药物")]
    section = Passage(Window(0, len(text), text), None)  # a physical exam or a course: no diagnosis named
    merged = merge_triples("d", [section], [found], {}, "r", load_schema())[0]
    assert [(e.subject, e.object) for e in merged] == [("瘢痕", "奥美拉唑"), ("胃炎", "奥美拉唑"),
                                                       ("高血压", "奥美拉唑")]
    kept, listed, not_diseases, told_before = read_note(text, merged, whole=False)  # its subjects only
    assert [(e.subject, e.object) for e in kept] == [("胃炎", "奥美拉唑"), ("高血压", "奥美拉唑")]
    assert (listed, not_diseases, told_before) == (0, 1, 0)
    topic = "胃炎@"  # a CMeIE text states its topic and keeps its textbook words
    cmeie = Passage(Window(0, len(topic + text), topic + text), stated_topic(topic + text))
    shifted = [triple("胃炎", "心影", heart, "影像学检查", "检查", len(topic))]
    assert [e.object for e in merge_triples("d", [cmeie], [shifted], {}, "r", load_schema())[0]] == ["心影"]
