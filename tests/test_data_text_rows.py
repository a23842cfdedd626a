import pytest

from etl.data.text_rows import read_text_rows
from etl.errors import DataError


def test_jsonl_keeps_other_keys_and_txt_is_one_text_per_line(tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "肺炎", "relations": {"临床表现": 0.9}}\n\n{"text": "发热"}\n', encoding="utf-8")
    assert read_text_rows(jsonl) == [{"text": "肺炎", "relations": {"临床表现": 0.9}}, {"text": "发热"}]
    txt = tmp_path / "in.txt"
    txt.write_text("第一句\r\n第二句\n", encoding="utf-8")
    assert read_text_rows(txt) == [{"text": "第一句"}, {"text": "第二句"}]


def test_bad_line_names_file_and_line(tmp_path):
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"text": "ok"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:2"):
        read_text_rows(jsonl)
