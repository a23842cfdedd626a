import json
from pathlib import Path

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
    with pytest.raises(DataError, match="missing column\\(s\\) id "):
        extract.open_input(messy_folder, "id", "text", ("ward",))
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


def test_a_plain_notes_file_reads_with_a_warning_for_missing_metadata(tmp_path):
    """issue 17: a file with only doc_id and text used to exit 1 (`missing column(s) section`)."""
    path = write(tmp_path / "plain.parquet", doc_id=["a", "b"], text=["发热。", "咳嗽。"])
    inputs = extract.open_input(path, "doc_id", "text", ("section",))
    assert inputs.missing_metadata == {str(path): ("section",)}
    assert "section" in inputs.warnings[0] and "input.metadata_columns" in inputs.warnings[0]
    rows = list(extract.iter_rows(inputs, 1000))
    assert [r.doc_id for r in rows] == ["a", "b"] and rows[0].metadata == {}


def test_invalid_utf8_in_a_string_column_is_quarantined_row_by_row(tmp_path):
    """issue 17: invalid UTF-8 in a string column used to abort the whole input (exit 4)."""
    def bad_strings(items):
        return pa.array(items, pa.binary()).view(pa.string())

    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"doc_id": bad_strings([b"a", b"b\xff", b"c", b"d"]),
                             "text": bad_strings([b"\xe5\x92\xb3", b"ok", b"\xff\xfe", "好".encode()]),
                             "section": bad_strings([b"x", b"y", b"z", b"\xffw"])}), path)
    inputs = extract.open_input(path, "doc_id", "text", ("section",))
    rows = list(extract.iter_rows(inputs, 1000, batch_rows=2))
    assert [(r.doc_id, getattr(r, "reason", "ok")) for r in rows] == [
        ("a", "ok"), ("b\\xff", extract.UNDECODABLE_ID), ("c", extract.UNDECODABLE_TEXT), ("d", "ok")]
    assert rows[0].text == "咳" and rows[3].metadata == {"section": "\ufffdw"}


def test_ids_are_stripped_and_hostile_ids_quarantined_with_reasons(tmp_path):
    """issue 17: whitespace-padded ids and control characters crashed FalkorDB; ids over 400
    bytes lost their batch (exit 4)."""
    ids = [" padded ", "ctl\x01id", "nul\x00id", "x" * 401, "\u3000", "tab\tinside", "emoji😀",
           "padded", "‮bidi"]
    path = write(tmp_path / "ids.parquet", doc_id=ids, text=["文本。"] * len(ids))
    rows = list(extract.iter_rows(extract.open_input(path, "doc_id", "text"), 1000))
    got = [(r.doc_id, getattr(r, "reason", "ok")) for r in rows]
    assert got == [("padded", "ok"), ("ctl\\x01id", extract.INVALID_ID), ("nul\\x00id", extract.INVALID_ID),
                   ("x" * 120 + "... (401 characters)", extract.ID_TOO_LONG), (None, extract.MISSING_ID)
                   if False else ("\u3000", extract.MISSING_ID), ("tab\\x09inside", extract.INVALID_ID),
                   ("emoji😀", "ok"), ("padded", extract.DUPLICATE_ID), ("‮bidi", "ok")]
    assert "U+0001" in rows[1].detail and "401 bytes" in rows[3].detail


def test_text_is_cleaned_one_for_one(tmp_path):
    text = "发热\x00三天\x01，\x7f咳嗽\ud800。\n第二行\u2028"
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"doc_id": ["a"], "text": pa.array([text.encode("utf-8", "surrogatepass")],
                                                                 pa.binary())}), path)
    [row] = list(extract.iter_rows(extract.open_input(path, "doc_id", "text"), 1000))
    assert isinstance(row, extract.Quarantined)  # a lone surrogate encoded as bytes is not UTF-8
    pq.write_table(pa.table({"doc_id": ["a"], "text": [text.replace("\ud800", "\ufffd")]}), path)
    [row] = list(extract.iter_rows(extract.open_input(path, "doc_id", "text"), 1000))
    assert row.text == "发热 三天 ， 咳嗽\ufffd。\n第二行\u2028" and len(row.text) == len(text)


def test_folder_rules_case_insensitive_hidden_and_underscore_files(tmp_path):
    """issue 17: *.PARQUET / *.parq were skipped silently and a hidden in-progress file blocked
    the folder; the skipped files are now listed with the reason."""
    folder = tmp_path / "night"
    (folder / "sub").mkdir(parents=True)
    (folder / "_temporary").mkdir()
    write(folder / "A.PARQUET", doc_id=["a"], text=["一。"])
    write(folder / "sub" / "b.parq", doc_id=["b"], text=["二。"])
    write(folder / "c.parquet", doc_id=["c"], text=["三。"])
    (folder / ".d.parquet").write_bytes(b"PAR1 half written")
    (folder / "_SUCCESS").write_bytes(b"")
    write(folder / "_temporary" / "e.parquet", doc_id=["e"], text=["五。"])
    (folder / "README.txt").write_text("notes", encoding="utf-8")
    inputs = extract.open_input(folder, "doc_id", "text")
    assert [Path(f).name for f in inputs.files] == ["A.PARQUET", "c.parquet", "b.parq"]
    skipped = {Path(f).name: reason for f, reason in inputs.skipped}
    assert skipped == {".d.parquet": extract.HIDDEN, "_SUCCESS": extract.HIDDEN, "_temporary": extract.HIDDEN,
                       "README.txt": extract.NOT_PARQUET}
    with pytest.raises(DataError, match=r"no Parquet files \(\*.parquet, \*.parq\).*4 other"):
        for name in ("A.PARQUET", "c.parquet", "sub/b.parq"):
            (folder / name).unlink()
        extract.open_input(folder, "doc_id", "text")


def test_quarantine_writer_survives_any_value_and_names_its_setting(tmp_path):
    writer = extract.QuarantineWriter(tmp_path / "q.jsonl")
    writer.write(extract.Quarantined("a\udcff.parquet", 0, "x\ud800", extract.INVALID_ID, "bad"))
    writer.close()
    line = (tmp_path / "q.jsonl").read_bytes().decode("utf-8")  # valid UTF-8, and the value survives
    assert json.loads(line)["doc_id"] == "x\ud800" and json.loads(line)["source"] == "a\udcff.parquet"
    (tmp_path / "file").write_text("")
    from etl.errors import OutputError

    with pytest.raises(OutputError, match="run.quarantine_dir"):
        extract.QuarantineWriter(tmp_path / "file" / "q.jsonl").write(
            extract.Quarantined("a", 0, "x", extract.INVALID_ID, "bad"))


def test_a_linked_sub_folder_is_read_and_a_link_loop_is_listed(tmp_path):
    """issue 30: a symlinked sub-folder was skipped silently (its rows neither read nor listed)."""
    elsewhere = tmp_path / "archive"
    elsewhere.mkdir()
    write(elsewhere / "old.parquet", doc_id=["o"], text=["旧。"])
    folder = tmp_path / "night"
    folder.mkdir()
    write(folder / "new.parquet", doc_id=["n"], text=["新。"])
    (folder / "archive").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "back").symlink_to(folder, target_is_directory=True)  # a loop through the link
    inputs = extract.open_input(folder, "doc_id", "text")
    assert [Path(f).name for f in inputs.files] == ["old.parquet", "new.parquet"]
    assert [(Path(f).name, reason) for f, reason in inputs.skipped] == [("back", extract.LINK_LOOP)]
    assert inputs.rows == 2


def test_an_output_over_an_input_is_refused(tmp_path):
    """issue 30: `--triples-out x/notes.parquet` onto the input replaced 30 notes by 7 triples."""
    folder = tmp_path / "x"
    folder.mkdir()
    notes = write(folder / "notes.parquet", doc_id=["a"], text=["一。"])
    single = extract.open_input(notes, "doc_id", "text")
    with pytest.raises(DataError, match="--triples-out .*notes.parquet is one of the input files"):
        extract.refuse_outputs_over_inputs(notes, single, {"--triples-out": notes})
    with pytest.raises(DataError, match="is one of the input files"):  # the same file by another name
        extract.refuse_outputs_over_inputs(notes, single, {"--report": tmp_path / "x" / ".." / "x" / "notes.parquet"})
    whole = extract.open_input(folder, "doc_id", "text")
    with pytest.raises(DataError, match="would be read as input by the next run"):
        extract.refuse_outputs_over_inputs(folder, whole, {"--triples-out": folder / "triples.parquet"})
    pattern = str(tmp_path / "*" / "*.parquet")
    globbed = extract.open_input(pattern, "doc_id", "text")
    with pytest.raises(DataError, match="would be read as input by the next run"):
        extract.refuse_outputs_over_inputs(pattern, globbed, {"--triples-out": tmp_path / "y" / "t.parquet"})
    # beside the input, or not Parquet, or no output at all: fine
    extract.refuse_outputs_over_inputs(folder, whole, {"--triples-out": tmp_path / "t.parquet",
                                                       "--report": folder / "report.json", "--x": None})
    extract.refuse_outputs_over_inputs(notes, single, {"--triples-out": folder / "t.parquet"})


def corrupt_last_row_group(path: Path, rows: int, group_rows: int) -> None:
    """A file of `rows` notes in groups of `group_rows` whose last group's text pages are garbage
    (its footer intact: the file opens and lists its groups)."""
    pq.write_table(pa.table({"doc_id": [f"d{i}" for i in range(rows)],
                             "text": [f"第{i}份病历，患者腹痛。" for i in range(rows)]}),
                   path, row_group_size=group_rows, compression="snappy")
    meta = pq.read_metadata(path)
    column = meta.row_group(meta.num_row_groups - 1).column(1)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset + 16
    data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def test_an_unreadable_row_group_is_quarantined_row_by_row_and_reading_goes_on(tmp_path):
    """issue 30: a file whose last row group is corrupt stopped the run with exit 1 "nothing was
    written" after the other files were written, naming row 100 where the group starts at 150.
    Now each row of the group is quarantined with its own row number and the reason, and the
    other groups and files are read."""
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "a.parquet", doc_id=["a1", "a2"], text=["一。", "二。"])
    corrupt_last_row_group(folder / "b.parquet", 200, 150)
    write(folder / "c.parquet", doc_id=["c1"], text=["三。"])
    inputs = extract.open_input(folder, "doc_id", "text")
    out = list(extract.iter_rows(inputs, 10_000, batch_rows=64))
    documents = [r for r in out if isinstance(r, extract.SourceDocument)]
    quarantined = [r for r in out if isinstance(r, extract.Quarantined)]
    assert len(out) == inputs.rows == 203
    assert [d.doc_id for d in documents][:3] == ["a1", "a2", "d0"] and documents[-1].doc_id == "c1"
    assert len(documents) == 2 + 150 + 1
    assert [q.row for q in quarantined] == list(range(150, 200))
    assert {q.reason for q in quarantined} == {extract.UNREADABLE_ROW}
    assert quarantined[0].detail.startswith("row group 1 (rows 150-199) could not be read")
    assert quarantined[0].source.endswith("b.parquet")


def test_a_file_name_that_is_not_utf8_is_refused_naming_it(tmp_path):
    """issue 30: a non-UTF-8 file name in the input folder was exit 4 (an encoding error deep in
    pyarrow and the report); now exit 1 before any work, the name shown with \\x escapes."""
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "t.parquet", doc_id=["a"], text=["一。"])
    os.rename(os.fsencode(folder / "t.parquet"), os.fsencode(folder) + b"/caf\xe9.parquet")
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"caf\\xe9\.parquet: the file name is not valid UTF-8"):
        extract.open_input(folder, "doc_id", "text")
    os.rename(os.fsencode(folder) + b"/caf\xe9.parquet", os.fsencode(folder) + b"/README\xe9.txt")
    write(folder / "good.parquet", doc_id=["a"], text=["一。"])
    inputs = extract.open_input(folder, "doc_id", "text")  # a skipped file's name is listed as text
    assert sorted(name.rsplit("/", 1)[1] for name, _ in inputs.skipped) == ["README\\xe9.txt", "notes.txt"]
