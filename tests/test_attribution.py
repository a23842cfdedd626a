"""etl/attribution.py: which disease a note's finding belongs to, rule by rule."""
from __future__ import annotations

from dataclasses import replace

import pytest

from etl.attribution import one_subject_per_object, site_told_apart
from etl.graph.records import Evidence


def _evidence(subject: str, at: int, obj: str, start: int, score: float) -> Evidence:
    return Evidence(doc_id="d", subject=subject, subject_type="疾病", predicate="药物治疗", object=obj,
                    object_type="药物", score=score, subject_start=at, subject_end=at + len(subject),
                    object_start=start, object_end=start + len(obj))


def test_one_subject_per_object_place_keeps_the_best_scoring_in_order():
    rows = [_evidence("胃炎", 0, "奥美拉唑", 9, 0.6), _evidence("高血压", 20, "奥美拉唑", 9, 0.8),
            _evidence("胃炎", 0, "奥美拉唑", 40, 0.5),  # another place of the drug keeps its own subject
            _evidence("胃炎", 0, "雷贝拉唑", 50, 0.7), replace(_evidence("高血压", 20, "雷贝拉唑", 50, 0.7))]
    assert [(e.subject, e.object_start) for e in one_subject_per_object(rows)] == [
        ("高血压", 9), ("胃炎", 40), ("胃炎", 50)]  # equal scores: the first


@pytest.mark.parametrize("text, subject, site, apart", [
    ("头颅CT示：双侧基底节区脑梗死。心电图示：窦性心律。", "脑梗死", "双侧基底节区", False),
    ("胸部CT示右肺门结节，考虑良性。", "结节", "右肺门", False),
    ("门诊以阑尾炎收入。查体：阴茎为成人型，尿道外口无红肿。", "阑尾炎", "阴茎", True),  # the exam's
    ("诊断为皮肤挫伤。双肺叩音清，肺肝相对浊音界位于右侧锁骨中线第5肋间。", "皮肤挫伤", "右侧锁骨", True),
    ("行胃镜示：胃窦溃疡；胃癌根治术后。", "胃癌", "胃窦", True),  # ；ends the site's sentence
])
def test_a_site_is_told_in_a_sentence_that_names_its_disease(text, subject, site, apart):
    start = text.index(site)
    assert site_told_apart(text, subject, "发病部位", start, start + len(site)) is apart


def test_only_site_predicates_and_never_the_passage_prefix():
    text = "阑尾炎@查体：阴茎为成人型。"
    start = text.index("阴茎")
    assert site_told_apart(text, "阑尾炎", "发病部位", start, start + 2, floor=len("阑尾炎@"))
    assert not site_told_apart(text, "阑尾炎", "发病部位", start, start + 2)  # the prefix would name it
    assert not site_told_apart(text, "阑尾炎", "转移部位", start, start + 2, floor=len("阑尾炎@"))
    assert not site_told_apart(text, "阑尾炎", "临床表现", start, start + 2, floor=len("阑尾炎@"))
