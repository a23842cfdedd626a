import pytest

from etl.data.cmeie import Sample, Triple
from etl.evaluate import evaluate, format_table


def s(text, *triples):
    return Sample(text, tuple(Triple(a, "疾病", p, b, t) for a, p, b, t in triples))


GOLD = [
    s("t1", ("糖尿病", "临床表现", "多饮", "症状"), ("糖尿病", "临床表现", "多尿", "症状"),
      ("糖尿病", "药物治疗", "二甲双胍", "药物")),
    s("t2", ("肺炎", "临床表现", "发热", "症状"), ("肺炎", "临床表现", "咳嗽", "症状")),
    s("t3"),
]


def test_known_precision_recall_f1():
    pred = [
        # 2 correct, 1 wrong predicate, and an exact duplicate that must count once
        s("t1", ("糖尿病", "临床表现", "多饮", "症状"), ("糖尿病", "药物治疗", "二甲双胍", "药物"),
          ("糖尿病", "并发症", "多尿", "疾病"), ("糖尿病", "临床表现", "多饮", "症状")),
        s("t2", ("肺炎", "临床表现", "发热", "症状")),
    ]
    report = evaluate(GOLD, pred)
    assert (report.micro.correct, report.micro.predicted, report.micro.gold) == (3, 4, 5)
    assert report.micro.precision == pytest.approx(0.75)
    assert report.micro.recall == pytest.approx(0.6)
    assert report.micro.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    per = report.per_predicate
    assert (per["临床表现"].correct, per["临床表现"].predicted, per["临床表现"].gold) == (2, 2, 4)
    assert (per["并发症"].correct, per["并发症"].predicted, per["并发症"].gold) == (0, 1, 0)
    table = format_table(report)
    assert "micro" in table and "临床表现" in table


def test_wrong_object_type_still_counts_as_the_benchmark_does():
    pred = [s("t2", ("肺炎", "临床表现", "发热", "疾病"))]  # type is not part of the strict key
    report = evaluate(GOLD, pred)
    assert report.micro.correct == 1


def test_empty_lists_and_missing_texts():
    assert evaluate(GOLD, []).micro.as_dict()["f1"] == 0.0
    report = evaluate(GOLD, [s("not in gold", ("a", "临床表现", "b", "症状"))])
    assert report.micro.predicted == 0 and report.unmatched_predicted_texts == 1
    assert evaluate([s("t3")], [s("t3")]).micro.f1 == 0.0  # nothing to find, nothing found
    perfect = evaluate(GOLD, GOLD)
    assert perfect.micro.f1 == 1.0 and perfect.as_dict()["macro_f1"] == 1.0


def test_benchmark_normalisation():
    gold = [s("t", ("《Abc病》", "临床表现", "ABC", "症状"))]
    pred = [s("t", ("abc病", "临床表现", "abc", "症状"))]
    assert evaluate(gold, pred).micro.f1 == 1.0
