import json

import pytest

from etl.data.cmeie import Triple, find_spans, read_cmeie, read_stats, write_cmeie
from etl.errors import DataError


def test_every_triple_of_the_labelled_file_gets_offsets(shared_data, cmeie_samples):
    assert len(cmeie_samples) == 3000
    triples = [t for s in cmeie_samples for t in s.triples]
    assert len(triples) == 8899
    for sample in cmeie_samples:
        for t in sample.triples:
            assert t.subject_spans and t.object_spans
            for start, end in t.subject_spans:
                assert sample.text[start:end] == t.subject
            for start, end in t.object_spans:
                assert sample.text[start:end] == t.object
    stats = read_stats(shared_data / "cmeie" / "cmeie_labeled.jsonl")
    assert stats.spans_missing == 0 and stats.spans_found == 2 * 8899
    assert stats.spans_ambiguous == 3485  # strings occurring more than once: all occurrences kept


def test_object_as_plain_string_and_crlf(tmp_path):
    path = tmp_path / "crlf.jsonl"
    rows = [
        {"text": "肺炎@肺炎常见发热。", "spo_list": [{"predicate": "临床表现", "subject": "肺炎",
                                            "subject_type": "疾病", "object": "发热", "object_type": "症状"}]},
        {"text": "无关系的句子。", "spo_list": []},
    ]
    path.write_bytes("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode() + b"\r\n")
    samples = list(read_cmeie(path))
    assert [s.text for s in samples] == [r["text"] for r in rows]
    triple = samples[0].triples[0]
    assert (triple.object, triple.object_type) == ("发热", "症状")
    assert triple.subject_spans == ((0, 2), (3, 5)) and triple.object_spans == ((7, 9),)


def test_nearest_pair_rule():
    t = Triple("肺炎", "疾病", "临床表现", "发热", "症状", subject_spans=((0, 2), (10, 12)), object_spans=((14, 16),))
    assert t.nearest_pair() == ((10, 12), (14, 16))
    assert find_spans("aaa", "aa") == ((0, 2), (1, 3))
    assert find_spans("abc", "") == ()


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "spo_list": []}\n{"text": 5}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        list(read_cmeie(path))
    with pytest.raises(DataError, match="cannot read"):
        list(read_cmeie(tmp_path / "missing.jsonl"))


def test_write_then_read_round_trip(tmp_path, cmeie_samples):
    out = tmp_path / "out.jsonl"
    write_cmeie(out, cmeie_samples[:50])
    again = list(read_cmeie(out))
    assert [(s.text, [t.key for t in s.triples]) for s in again] == \
        [(s.text, [t.key for t in s.triples]) for s in cmeie_samples[:50]]


def test_every_reader_names_a_file_it_cannot_open(tmp_path):
    from etl.data.cdee import read_cdee
    from etl.data.cmeee import read_cmeee
    from etl.data.text_rows import read_text_rows

    missing = tmp_path / "nothing.jsonl"
    for read in (lambda p: list(read_cmeie(p)), lambda p: list(read_cmeee(p)), read_cdee, read_text_rows):
        with pytest.raises(DataError, match=f"cannot read {missing}: No such file"):
            read(missing)
