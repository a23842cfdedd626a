"""CHIP-CDN, the ICD-10 vocabulary and the CBLUE pairs, as the normaliser reads them."""
import json

import pytest

from etl.data.cdn import read_cdn, read_pairs, read_vocabulary
from etl.errors import DataError


@pytest.mark.slow  # `make test` only, not `make check`
def test_the_shared_files_read_whole(shared_data):
    vocabulary = read_vocabulary(shared_data / "cdn" / "icd10_beijing_clinical_v601.tsv")
    assert len(vocabulary) == 37645 and len({c.name for c in vocabulary}) == 37645
    train = read_cdn(shared_data / "cdn" / "chip_cdn_train.jsonl")
    assert len(train) == 6000 and all(r.text and r.names for r in train)
    pairs = read_pairs(shared_data / "pairs", "train")
    assert {p.task for p in pairs} == {"sts", "qqr", "qtr"} and len(pairs) == 16000 + 15000 + 24174


def test_a_name_with_several_codes_keeps_the_shortest(tmp_path):
    path = tmp_path / "icd.tsv"
    path.write_text("C11.9\t鼻咽恶性肿瘤\nC11\t鼻咽恶性肿瘤\nI10\t高血压\n", encoding="utf-8")
    assert [(c.code, c.name) for c in read_vocabulary(path)] == [("C11", "鼻咽恶性肿瘤"), ("I10", "高血压")]
    path.write_text("I10 高血压\n", encoding="utf-8")
    with pytest.raises(DataError, match="icd.tsv:1: expected code<TAB>name"):
        read_vocabulary(path)


def test_cdn_names_split_once_each_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "cdn.jsonl"
    rows = [{"text": " 头痛.头晕 ", "normalized_result": "头痛##头晕##头痛"}, {"text": "无", "normalized_result": ""}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{\"text\": 3}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cdn.jsonl:3: not a CHIP-CDN record"):
        read_cdn(path)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert [(r.text, r.names) for r in read_cdn(path)] == [("头痛.头晕", ("头痛", "头晕")), ("无", ())]


def test_a_pair_label_outside_its_task_is_an_error(tmp_path):
    for stem, first, second in (("chip_sts", "text1", "text2"), ("kuake_qqr", "query1", "query2"),
                                ("kuake_qtr", "query", "title")):
        (tmp_path / f"{stem}_dev.jsonl").write_text(
            json.dumps({first: "a", second: "b", "label": "1"}) + "\n", encoding="utf-8")
    assert [p.label for p in read_pairs(tmp_path, "dev")] == [1, 1, 1]
    (tmp_path / "chip_sts_dev.jsonl").write_text(json.dumps({"text1": "a", "text2": "b", "label": "2"}) + "\n")
    with pytest.raises(DataError, match="chip_sts_dev.jsonl:1: not a chip_sts pair .label 2 outside 0..1"):
        read_pairs(tmp_path, "dev")
