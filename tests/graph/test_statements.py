"""The statement builder's whitelist, the schema files, the none sink and the Parquet triples."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.graph import open_sink
from etl.graph.names import name_key, normalize_name
from etl.graph.neo4j.dialect import schema_files
from etl.graph.statements import StatementBuilder
from etl.config import GraphSettings

from .conftest import doc, ev

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bad", ["Disease`) DETACH DELETE n //", "Foo", "disease", "HAS_SYMPTOM]->()", ""])
def test_only_whitelisted_names_reach_cypher(schema, bad):
    builder = StatementBuilder(schema)
    with pytest.raises(ValueError, match="whitelisted"):
        builder.label(bad)
    with pytest.raises(ValueError, match="whitelisted"):
        list(builder.upsert_edges((bad, "HAS_SYMPTOM", "Symptom"), [{"s": 1}], "r"))


def test_values_are_parameters_never_text(schema):
    builder = StatementBuilder(schema)
    marker = "VALUE'`}-MARKER"
    rows = [{"name": marker, "full_name": None, "surface_forms": [marker], "dc": 1, "da": 1}]
    for statement in [*builder.upsert_nodes("Disease", rows, marker), *builder.begin_documents([marker], marker)]:
        assert marker not in statement.text
        assert "$rows" in statement.text


def test_schema_files_match_the_code(schema):
    for name, text in schema_files(StatementBuilder(schema).index_specs()).items():
        assert (ROOT / "cypher" / "schema" / name).read_text(encoding="utf-8") == text, name


def test_name_normalisation():
    assert normalize_name("  ２型　糖尿病\n") == "2型 糖尿病"  # NFKC, whitespace folded
    assert normalize_name("IgA肾病") == "IgA肾病"  # no case folding
    long = "长" * 1000
    assert name_key(long) != long and len(name_key(long).encode()) <= 400
    assert name_key(long) == name_key(long) and name_key(long) != name_key(long + "x")


def test_none_sink_validates_and_counts_but_keeps_nothing(schema):
    with open_sink(GraphSettings(sink="none")) as sink:
        stats = sink.write_documents([doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮")], run_id="r1")
        assert stats.evidence == 1 and sink.known_documents(["d1"]) == {}


def test_triples_out_writes_one_row_per_evidence(tmp_path):
    out = tmp_path / "triples" / "run.parquet"
    rows = [ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 0), ev("d1", "糖尿病", "临床表现", "多饮", 0.5, 0),
            ev("d2", "高血压", "临床表现", "头痛", 0.8, 3)]
    with open_sink(GraphSettings(sink="none"), triples_out=out) as sink:
        sink.write_documents([doc("d1"), doc("d2")], rows[:2], run_id="r1")
        sink.write_documents([doc("d2")], rows[2:], run_id="r1")
    table = pq.read_table(out).to_pylist()
    assert len(table) == 2  # the duplicate (same place, lower score) is one piece of evidence
    first = next(r for r in table if r["doc_id"] == "d1")
    assert (first["subject"], first["predicate"], first["rel_type"], first["object"], first["score"]) == (
        "糖尿病", "临床表现", "HAS_SYMPTOM", "多饮", 0.9)
    assert first["source_file"] == "notes.parquet" and first["subject_start"] == 0 and first["run_id"] == "r1"


def test_triples_out_has_the_assertion_columns(tmp_path):
    out = tmp_path / "run.parquet"
    rows = [ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 0),
            ev("d1", "糖尿病", "临床表现", "恶心", 0.8, 10, object_assertion="absent"),
            ev("d1", "肺炎", "临床表现", "发热", 0.7, 20, subject_assertion="possible",
               subject_experiencer="family", subject_historical=True)]
    with open_sink(GraphSettings(sink="none"), triples_out=out) as sink:
        sink.write_documents([doc("d1")], rows, run_id="r1")
    table = pq.read_table(out)
    for column in ("subject_assertion", "object_assertion", "subject_experiencer", "object_experiencer",
                   "assertion_model"):
        assert table.schema.field(column).type == pa.string(), column
    for column in ("subject_historical", "object_historical", "asserted"):
        assert table.schema.field(column).type == pa.bool_(), column
    got = {r["object"]: (r["subject_assertion"], r["object_assertion"], r["asserted"], r["subject_experiencer"],
                         r["object_experiencer"], r["subject_historical"], r["object_historical"],
                         r["assertion_model"]) for r in table.to_pylist()}
    assert got == {"多饮": ("present", "present", True, "patient", "patient", False, False, "assert-1"),
                   "恶心": ("present", "absent", False, "patient", "patient", False, False, "assert-1"),
                   "发热": ("possible", "present", False, "family", "patient", True, False, "assert-1")}
    assert set(table.column("subject_assertion").to_pylist() + table.column("object_assertion").to_pylist()) <= {
        "present", "absent", "possible"}


def test_evidence_assertion_rule():
    from etl.graph.batch import evidence_assertion

    expected = {("present", "present"): "present", ("present", "absent"): "absent",
                ("absent", "possible"): "absent", ("possible", "absent"): "absent",
                ("absent", "absent"): "absent", ("possible", "present"): "possible",
                ("present", "possible"): "possible", ("possible", "possible"): "possible"}
    assert {ends: evidence_assertion(*ends) for ends in expected} == expected


def test_evidence_rows_hold_exactly_the_properties_the_evidence_statement_names(schema):
    from etl.graph.batch import EVIDENCE_PROPERTIES, prepare_batch

    batch = prepare_batch(schema, [doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮")], "r1")
    rows = batch.evidence[("Disease", "HAS_SYMPTOM", "Symptom")]
    assert tuple(rows[0]["props"]) == EVIDENCE_PROPERTIES
    builder = StatementBuilder(schema)
    created, updated = next(builder.create_evidence(rows)), next(builder.update_evidence(rows))
    # Sent as lists in EVIDENCE_PROPERTIES order; the texts read each property at its position.
    assert created.params["rows"] == [[rows[0]["props"][name] for name in EVIDENCE_PROPERTIES]]
    assert updated.params["rows"] == created.params["rows"]
    for i, name in enumerate(EVIDENCE_PROPERTIES):
        assert f"{name}: row[{i}]" in created.text
        assert (f"ev.{name} = row[{i}]" in updated.text) == (name != "key")


def test_batch_statements_do_not_depend_on_the_groups_written(schema):
    """Evidence and entity refreshes are one statement per write, whatever the mix of groups."""
    builder = StatementBuilder(schema, batch_size=1000)
    evidence = [ev("d1", f"病{i}", pred, f"物{i}", 0.9, i * 10)
                for i, pred in enumerate(["临床表现", "药物治疗", "实验室检查", "病因", "并发症"] * 40)]
    from etl.graph.batch import prepare_batch
    batch = prepare_batch(schema, [doc("d1")], evidence, "r1")
    rows = [row for group in batch.evidence.values() for row in group]
    assert len(batch.evidence) == 5 and len(rows) == 200
    assert len(list(builder.create_evidence(rows))) == 1
    assert len(list(builder.update_evidence(rows))) == 1
    assert len(list(builder.refresh_nodes([{"label": label, "name": name} for label in batch.nodes
                                           for name in batch.nodes[label]]))) == 1
    assert len(list(StatementBuilder(schema, batch_size=150).create_evidence(rows))) == 2
