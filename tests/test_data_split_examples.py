from etl.data.cmeie import Sample, Triple, find_spans
from etl.data.examples import mrc_examples, relation_examples
from etl.data.split import train_dev_split


def test_split_is_deterministic_and_disjoint(cmeie_samples):
    train, dev = train_dev_split(cmeie_samples, 500, 7)
    again_train, again_dev = train_dev_split(cmeie_samples, 500, 7)
    assert [s.line for s in dev] == [s.line for s in again_dev]
    assert len(train) == 2500 and len(dev) == 500
    assert not {s.line for s in train} & {s.line for s in dev}
    _, other_dev = train_dev_split(cmeie_samples, 500, 8)
    assert [s.line for s in other_dev] != [s.line for s in dev]


def test_relation_examples_use_schema_order(cmeie_samples, schema):
    examples = relation_examples(cmeie_samples[:200], schema)
    for sample, example in zip(cmeie_samples[:200], examples):
        assert example.text == sample.text
        assert {schema.predicate_names[i] for i in example.labels} == {t.predicate for t in sample.triples}


def _triple(text, s, p, o):
    return Triple(s, "疾病", p, o, "症状", subject_spans=find_spans(text, s), object_spans=find_spans(text, o))


def test_mrc_examples_pair_subjects_with_their_own_objects(schema):
    text = "糖尿病表现为多饮，肺炎表现为发热。"
    sample = Sample(text, (_triple(text, "糖尿病", "临床表现", "多饮"), _triple(text, "肺炎", "临床表现", "发热")))
    examples = mrc_examples([sample], schema)
    turn1 = [e for e in examples if e.turn == 1]
    turn2 = {e.subject: e for e in examples if e.turn == 2}
    assert len(turn1) == 1 and {text[a:b] for a, b in turn1[0].spans} == {"糖尿病", "肺炎"}
    assert {text[a:b] for a, b in turn2["糖尿病"].spans} == {"多饮"}
    assert {text[a:b] for a, b in turn2["肺炎"].spans} == {"发热"}
    assert "糖尿病" in turn2["糖尿病"].query


def test_mrc_examples_cover_every_triple(cmeie_samples, schema):
    examples = mrc_examples(cmeie_samples, schema)
    answered = {(e.text, e.predicate, e.subject, e.text[a:b]) for e in examples if e.turn == 2 for a, b in e.spans}
    for sample in cmeie_samples:
        for t in sample.triples:
            assert (sample.text, t.predicate, t.subject, t.object) in answered
