import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl import extract
from etl.errors import DataError


def write(path, **columns):
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def messy_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "a.parquet",
          doc_id=["d1", "d2", "d3", "d1", None, "d6", "d7"],
          text=["患者发热三天。", None, "   ", "重复的编号。", "没有编号。", "很长" * 20, "正常文本。"],
          section=["一般项目"] * 7)
    write(folder / "b.parquet",
          doc_id=pa.array(["b1", "b2"]),
          text=pa.array([b"\xe5\x92\xb3\xe5\x97\xbd", b"\xff\xfe\xfa"], type=pa.binary()),
          section=["病史特点", "病史特点"])
    write(folder / "c.parquet", doc_id=["c1"], text=pa.array([42]), section=["x"])
    return folder


def test_every_row_is_a_document_or_quarantined_with_reason(messy_folder):
    inputs = extract.open_input(messy_folder, "doc_id", "text", ("section",))
    assert inputs.rows == 10 and len(inputs.files) == 3
    rows = list(extract.iter_rows(inputs, max_text_chars=30, batch_rows=3))
    assert len(rows) == inputs.rows
    docs = [r for r in rows if isinstance(r, extract.SourceDocument)]
    bad = {(r.doc_id, r.reason) for r in rows if isinstance(r, extract.Quarantined)}
    assert [d.doc_id for d in docs] == ["d1", "d7", "b1"]
    assert docs[2].text == "咳嗽" and docs[0].metadata == {"section": "一般项目"}
    assert bad == {("d2", extract.NULL_TEXT), ("d3", extract.EMPTY_TEXT), ("d1", extract.DUPLICATE_ID),
                   (None, extract.MISSING_ID), ("d6", extract.TEXT_TOO_LONG),
                   ("b2", extract.UNDECODABLE_TEXT), ("c1", extract.NON_STRING_TEXT)}
    assert docs[0].row == 0 and docs[1].row == 6 and docs[0].source.endswith("a.parquet")


def test_limit_and_content_hash(messy_folder):
    inputs = extract.open_input(messy_folder / "a.parquet", "doc_id", "text", ("section",))
    rows = list(extract.iter_rows(inputs, 1000, limit=2))
    assert len(rows) == 2
    assert extract.content_hash("a", {"s": 1}) != extract.content_hash("a", {"s": 2})
    assert extract.content_hash("a", {}) == extract.content_hash("a", {})


def test_problems_found_before_work_starts(tmp_path, messy_folder):
    with pytest.raises(DataError, match="missing column"):
        extract.open_input(messy_folder, "doc_id", "body")
    with pytest.raises(DataError, match="missing column\\(s\\) ward"):
        extract.open_input(messy_folder, "doc_id", "text", ("ward",))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        extract.open_input(tmp_path / "broken.parquet", "doc_id", "text")
    with pytest.raises(DataError, match="input not found"):
        extract.open_input(tmp_path / "nope.parquet", "doc_id", "text")
    with pytest.raises(DataError, match="no files match"):
        extract.open_input(str(tmp_path / "*.nothing"), "doc_id", "text")


def test_glob_and_real_notes(shared_data):
    inputs = extract.open_input(str(shared_data / "notes" / "*.parquet"), "doc_id", "text", ("section",))
    rows = list(extract.iter_rows(inputs, 200_000))
    assert len(rows) == 1198 and all(isinstance(r, extract.SourceDocument) for r in rows)


def test_quarantine_writer(tmp_path):
    writer = extract.QuarantineWriter(tmp_path / "q" / "run.jsonl")
    writer.write(extract.Quarantined("a.parquet", 3, "d", extract.EMPTY_TEXT, "text is empty"))
    writer.close()
    [line] = (tmp_path / "q" / "run.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["reason"] == "empty_text" and writer.by_reason == {"empty_text": 1}
