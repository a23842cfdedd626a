"""Every query template returns the expected rows on a small hand-made graph, in a real FalkorDB
and a real Neo4j (the `store` fixture), and both stores return the same rows for every template.

The graph also holds evidence with absent and possible ends, chosen so that each template's answer
would change if that evidence were counted: the expectations below are those of the asserted
evidence alone."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.errors import EtlError
from etl.graph.records import RunRecord
from etl.graph.templates import MAX_INTEGER, browser_params, load_templates

from .conftest import doc, ev

TEMPLATES = load_templates()
EXPECTED_TEMPLATES = {"symptoms_of_disease", "drugs_for_disease", "diseases_by_symptoms",
                      "differentials_and_complications", "edge_evidence", "neighbourhood",
                      "drugs_via_symptom", "synonyms", "last_run_added", "top_relationships",
                      "pertinent_negatives", "concept_surface_forms", "concept_relationships",
                      "concepts_by_code"}
# Constant text a template may hold (vocabulary, never a value from the user).
LITERALS = ("'Entity'", "'HAS_COMPLICATION'", "'complication'", "'differential diagnosis'",
            "'present'", "'absent'", "'all'")
ABSENT, POSSIBLE = {"object_assertion": "absent"}, {"object_assertion": "possible"}


def build(sink):
    """Diabetes and hypertension, written by two runs; the second run adds the hypertension facts."""
    sink.start_run(RunRecord("run-1", "2026-11-20T10:00:00"))
    sink.write_documents([doc("n1"), doc("n2")], [
        ev("n1", "糖尿病", "临床表现", "多饮", 0.9, 0, sentence="糖尿病患者常见多饮、多尿。"),
        ev("n1", "糖尿病", "临床表现", "多尿", 0.8, 8),
        ev("n2", "糖尿病", "临床表现", "多饮", 0.7, 0, sentence="多饮是糖尿病的典型表现。"),
        ev("n2", "糖尿病", "临床表现", "体重下降", 0.6, 20),
        ev("n1", "糖尿病", "药物治疗", "二甲双胍", 0.95, 30),
        ev("n2", "糖尿病", "药物治疗", "胰岛素", 0.85, 40),
        ev("n1", "糖尿病", "并发症", "糖尿病肾病", 0.9, 50),
        ev("n2", "糖尿病", "鉴别诊断", "尿崩症", 0.8, 60),
        ev("n1", "尿崩症", "临床表现", "多尿", 0.75, 70),
        ev("n2", "糖尿病", "同义词", "消渴", 0.9, 80, object_type="疾病"),
        ev("n2", "消渴", "同义词", "消渴症", 0.8, 90, object_type="疾病"),
    ], run_id="run-1")
    # n4: what a note denies or doubts (无恶心 ...): evidence only, no typed relationship of its own.
    sink.write_documents([doc("n4")], [
        ev("n4", "糖尿病", "临床表现", "恶心", 0.99, 0, **ABSENT),
        ev("n4", "糖尿病", "临床表现", "恶心", 0.99, 5, **ABSENT),
        ev("n4", "糖尿病", "临床表现", "多尿", 0.99, 10, **ABSENT),  # asserted in n1: the edge stays
        ev("n4", "糖尿病", "临床表现", "体重下降", 0.99, 15, **POSSIBLE),
        ev("n4", "糖尿病", "临床表现", "发热", 0.99, 20, **POSSIBLE),
        ev("n4", "糖尿病", "药物治疗", "阿司匹林", 0.99, 25, **ABSENT),
        ev("n4", "糖尿病", "药物治疗", "胰岛素", 0.99, 30, **POSSIBLE),
        ev("n4", "糖尿病", "并发症", "酮症酸中毒", 0.99, 35, **POSSIBLE),
        ev("n4", "尿崩症", "临床表现", "头痛", 0.99, 40, **ABSENT),
        ev("n4", "消渴", "同义词", "糖尿病肾病", 0.99, 45, object_type="疾病", **POSSIBLE),
        ev("n4", "糖尿病", "临床表现", "乏力", 0.99, 50, subject_assertion="possible", **ABSENT),
    ], run_id="run-1")
    sink.finish_run(RunRecord("run-1", "2026-11-20T10:00:00", "2026-11-20T10:01:00", "ok"))
    sink.start_run(RunRecord("run-2", "2026-11-21T10:00:00"))
    sink.write_documents([doc("n3")], [
        ev("n3", "高血压", "临床表现", "头痛", 0.8, 0),
        ev("n3", "高血压", "药物治疗", "氨氯地平", 0.9, 10),
        ev("n3", "糖尿病", "临床表现", "多饮", 0.5, 20),  # an old edge seen again: not "added"
    ], run_id="run-2")
    sink.write_documents([doc("n5")], [
        ev("n5", "糖尿病", "临床表现", "多饮", 0.95, 0, sentence="无多饮、恶心。", **ABSENT),
        ev("n5", "糖尿病", "临床表现", "恶心", 0.9, 4, sentence="无多饮、恶心。", **ABSENT),
        ev("n5", "糖尿病", "药物治疗", "胰岛素", 0.99, 10, **POSSIBLE),
        ev("n5", "高血压", "临床表现", "多饮", 0.99, 20, **POSSIBLE),
        ev("n5", "高血压", "临床表现", "恶心", 0.99, 30, **ABSENT),
        ev("n5", "高血压", "药物治疗", "胰岛素", 0.99, 40, **POSSIBLE),
    ], run_id="run-2")
    sink.finish_run(RunRecord("run-2", "2026-11-21T10:00:00", "2026-11-21T10:02:00", "ok"))
    sink.start_run(RunRecord("run-3", "2026-11-22T10:00:00"))  # still running: ignored
    # What etl/normalize.py writes after a run: 糖尿病 and 消渴 are one concept, 高血压 another.
    sink.link_concepts("Disease", [{"name": "糖尿病", "concepts": [concept("E14.900", "糖尿病", 0.98)]},
                                   {"name": "消渴", "concepts": [concept("E14.900", "糖尿病", 0.91)]},
                                   {"name": "高血压", "concepts": [concept("I10.x00", "高血压", 0.97)]},
                                   {"name": "尿崩症", "concepts": []}], "normalizer-t")
    return sink


def concept(code: str, name: str, score: float) -> dict:
    return {"system": "ICD-10-BJ-6.01", "code": code, "name": name, "score": score}


@pytest.fixture
def graph(store):
    return build(store.make())


def run(sink, template_name, /, **params):
    template = TEMPLATES[template_name]
    bound = template.bind({k: ",".join(v) if isinstance(v, list) else str(v) for k, v in params.items()})
    return sink.query(template.text, bound)


def test_the_templates_the_issue_asks_for_exist_and_are_documented():
    assert EXPECTED_TEMPLATES <= set(TEMPLATES)
    for template in TEMPLATES.values():
        assert template.description and template.browser_params.startswith(":params {"), template.name
        example = browser_params(template)
        declared = {p.name for p in template.parameters}
        used = set(re.findall(r"\$(\w+)", template.text.split("\n", 3)[-1]))
        assert declared == set(example) == used, template.name
        # Browser turns the numbers of :params into floats (LIMIT refuses 50.0): each integer
        # parameter is set again, as an integer, by a `:param name => value` line after it.
        integers = [p.name for p in template.parameters if p.type == "integer"]
        assert template.browser_lines == (template.browser_params,
                                          *(f":param {n} => {example[n]}" for n in integers)), template.name
        body = "\n".join(line for line in template.text.splitlines() if not line.startswith("//"))
        for literal in LITERALS:
            body = body.replace(literal, "")
        assert "'" not in body, template.name


def test_symptoms_of_disease(graph):
    rows = run(graph, "symptoms_of_disease", disease="糖尿病")
    assert [(r["symptom"], r["evidence"], r["documents"]) for r in rows] == [
        ("多饮", 3, 3), ("多尿", 1, 1), ("体重下降", 1, 1)]  # not 恶心 or 发热: only denied / doubted
    assert rows[0]["best_score"] == 0.9 and rows[0]["mean_score"] == 0.7
    assert [(r["absent"], r["possible"]) for r in rows] == [(1, 0), (1, 0), (0, 1)]


def test_drugs_for_disease(graph):
    rows = run(graph, "drugs_for_disease", disease="糖尿病")
    assert [r["drug"] for r in rows] == ["二甲双胍", "胰岛素"]
    assert run(graph, "drugs_for_disease", disease="糖尿病", limit=1)[0]["drug"] == "二甲双胍"


def test_diseases_by_symptoms(graph):
    rows = run(graph, "diseases_by_symptoms", symptoms=["多饮", "多尿", "头痛"])
    assert [(r["disease"], r["matched"], r["asked"]) for r in rows] == [
        ("糖尿病", 2, 3), ("高血压", 1, 3), ("尿崩症", 1, 3)]  # ties: by support
    assert sorted(rows[0]["matched_symptoms"]) == ["多尿", "多饮"]


def test_differentials_and_complications(graph):
    rows = run(graph, "differentials_and_complications", disease="糖尿病")
    assert [(r["kind"], r["disease"]) for r in rows] == [
        ("complication", "糖尿病肾病"), ("differential diagnosis", "尿崩症")]


def test_edge_evidence(graph):
    rows = run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="多饮")
    assert [(r["doc_id"], r["score"]) for r in rows] == [("n1", 0.9), ("n2", 0.7), ("n3", 0.5)]
    assert rows[0]["sentence"] == "糖尿病患者常见多饮、多尿。" and rows[0]["subject_start"] == 0
    assert {(r["assertion"], r["subject_assertion"], r["object_assertion"], r["subject_experiencer"],
             r["object_historical"], r["assertion_model"]) for r in rows} == {
        ("present", "present", "present", "patient", False, "assert-1")}
    by_type = run(graph, "edge_evidence", subject="糖尿病", predicate="HAS_SYMPTOM", object="多饮")
    assert by_type == rows
    every = run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="多饮", assertion="all")
    assert [(r["doc_id"], r["assertion"], r["object_assertion"]) for r in every] == [
        ("n5", "absent", "absent"), ("n1", "present", "present"), ("n2", "present", "present"),
        ("n3", "present", "present")]
    assert every[0]["sentence"] == "无多饮、恶心。"


def test_edge_evidence_of_a_pair_with_no_typed_relationship(graph):
    """恶心 is only ever denied for 糖尿病: no HAS_SYMPTOM, but its evidence is there to see."""
    assert run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="恶心") == []
    denied = run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="恶心", assertion="absent")
    assert [(r["doc_id"], r["subject_assertion"], r["object_assertion"], r["subject_start"]) for r in denied] == [
        ("n4", "present", "absent", 0), ("n4", "present", "absent", 5), ("n5", "present", "absent", 4)]
    doubted = run(graph, "edge_evidence", subject="糖尿病", predicate="HAS_SYMPTOM", object="发热",
                  assertion="possible")
    assert [(r["doc_id"], r["object_assertion"]) for r in doubted] == [("n4", "possible")]
    assert run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="发热",
               assertion="absent") == []
    assert len(run(graph, "edge_evidence", subject="糖尿病", predicate="临床表现", object="恶心",
                   assertion="all")) == 3
    assert graph.query("MATCH (:Disease {name: '糖尿病'})-[r]->(:Symptom {name: '恶心'}) RETURN r") == []


def test_pertinent_negatives(graph):
    rows = run(graph, "pertinent_negatives", disease="糖尿病")
    # Present subject, absent object only: not 乏力 (the disease itself only possible there), not
    # 体重下降 / 发热 (possible); 多尿 and 多饮 are asserted elsewhere and denied here: listed too.
    assert [(r["finding"], r["type"], r["relationships"], r["documents"], r["evidence"]) for r in rows] == [
        ("恶心", "Symptom", ["HAS_SYMPTOM"], 2, 3),
        *sorted([("多尿", "Symptom", ["HAS_SYMPTOM"], 1, 1), ("多饮", "Symptom", ["HAS_SYMPTOM"], 1, 1),
                 ("阿司匹林", "Drug", ["TREATED_WITH_DRUG"], 1, 1)])]
    assert [r["finding"] for r in run(graph, "pertinent_negatives", disease="高血压")] == ["恶心"]
    assert [r["finding"] for r in run(graph, "pertinent_negatives", disease="糖尿病", limit=1)] == ["恶心"]
    assert run(graph, "pertinent_negatives", disease="尿崩症")[0]["finding"] == "头痛"
    assert run(graph, "pertinent_negatives", disease="消渴") == []  # possible is not denied


def test_neighbourhood(graph):
    rows = run(graph, "neighbourhood", name="尿崩症")
    pairs = sorted((r["r"]["_type"], r["m"]["name"]) for r in rows)
    assert pairs == [("HAS_DIFFERENTIAL_DIAGNOSIS", "糖尿病"), ("HAS_SYMPTOM", "多尿")]
    assert all(r["n"]["name"] == "尿崩症" for r in rows)  # not 头痛: denied
    # A finding only ever denied is a node (its evidence points at it) with no relationship.
    assert run(graph, "neighbourhood", name="恶心") == []
    nausea = graph.query("MATCH (n:Symptom {name: $n}) RETURN n.evidence_count AS c, n.asserted_count AS a",
                         {"n": "恶心"})
    assert nausea == [{"c": 4, "a": 0}]


def test_drugs_via_symptom(graph):
    rows = run(graph, "drugs_via_symptom", symptom="多饮")
    assert [(r["drug"], r["via_diseases"]) for r in rows] == [("二甲双胍", 1), ("胰岛素", 1)]
    assert [r["drug"] for r in run(graph, "drugs_via_symptom", symptom="头痛")] == ["氨氯地平"]


def test_synonyms(graph):
    assert [(r["synonym"], r["type"]) for r in run(graph, "synonyms", name="消渴")] == [
        ("消渴症", "Disease"), ("糖尿病", "Disease")]
    assert [r["synonym"] for r in run(graph, "synonyms", name="糖尿病")] == ["消渴", "消渴症"]


def test_last_run_added(graph):
    rows = run(graph, "last_run_added")
    assert {(r["subject"], r["relationship"], r["object"]) for r in rows} == {
        ("高血压", "HAS_SYMPTOM", "头痛"), ("高血压", "TREATED_WITH_DRUG", "氨氯地平")}
    assert {r["run_id"] for r in rows} == {"run-2"}


@pytest.mark.slow  # `make test` only, not `make check`
def test_etl_query_command(tmp_path):
    """The CLI end to end, on its own private server (own data folder)."""
    from etl.config import load_settings
    from etl.graph import open_sink

    settings = load_settings(None, {"graph.falkordb.data_dir": str(tmp_path / "db")})
    with open_sink(settings.graph) as sink:
        sink.write_documents([doc("n1")], [ev("n1", "糖尿病", "临床表现", "多饮", 0.9)], run_id="r1")
    base = ["--set", f"graph.falkordb.data_dir={tmp_path / 'db'}", "query"]
    runner = CliRunner()
    listing = runner.invoke(cli, ["query", "--list"], standalone_mode=False)
    assert "symptoms_of_disease" in listing.output
    table = runner.invoke(cli, base + ["symptoms_of_disease", "--param", "disease=糖尿病"],
                          standalone_mode=False)
    assert table.exception is None and "多饮" in table.output and "(1 rows)" in table.output
    as_csv = runner.invoke(cli, base + ["symptoms_of_disease", "--param", "disease= 糖尿病 ", "--format", "csv"],
                           standalone_mode=False)
    assert as_csv.output.splitlines()[0].startswith("symptom,evidence") and "多饮,1,1" in as_csv.output
    as_json = runner.invoke(cli, base + ["diseases_by_symptoms", "--param", "symptoms=多饮,发热",
                                         "--format", "json"], standalone_mode=False)
    assert '"disease": "糖尿病"' in as_json.output


def test_concept_surface_forms(graph):
    rows = run(graph, "concept_surface_forms", concept="E14.900")
    assert [(r["entity"], r["type"], r["documents"], r["score"]) for r in rows] == [
        ("糖尿病", "Disease", 5, 0.98), ("消渴", "Disease", 2, 0.91)]
    assert run(graph, "concept_surface_forms", concept="糖尿病") == rows  # by name as by code
    assert {(r["concept"], r["system"]) for r in rows} == {("糖尿病", "ICD-10-BJ-6.01")}
    assert run(graph, "concept_surface_forms", concept="E14") == []


def test_concept_relationships_gather_every_entity_of_the_concept(graph):
    symptoms = run(graph, "concept_relationships", concept="E14.900", rel_type="HAS_SYMPTOM")
    assert [(r["object"], r["evidence"], r["via"]) for r in symptoms] == [
        ("多饮", 3, ["糖尿病"]), ("多尿", 1, ["糖尿病"]), ("体重下降", 1, ["糖尿病"])]
    every = run(graph, "concept_relationships", concept="糖尿病")
    synonyms = sorted((r["object"], r["via"][0]) for r in every if r["relationship"] == "SYNONYM_OF")
    assert synonyms == [("消渴", "糖尿病"), ("消渴症", "消渴")]  # 消渴's own relationships come too
    assert {r["relationship"] for r in every} >= {"HAS_SYMPTOM", "TREATED_WITH_DRUG", "HAS_COMPLICATION"}


def test_concepts_by_code_prefix(graph):
    assert [(r["code"], r["concept"], r["system"], r["entities"], r["documents"]) for r in
            run(graph, "concepts_by_code", prefix="E14")] == [("E14.900", "糖尿病", "ICD-10-BJ-6.01", 2, 5)]
    assert [r["code"] for r in run(graph, "concepts_by_code", prefix="")] == ["E14.900", "I10.x00"]


def test_top_relationships(graph):
    rows = run(graph, "top_relationships", limit=3)
    assert [(r["subject"], r["relationship"], r["object"], r["evidence"]) for r in rows] == [
        ("糖尿病", "HAS_SYMPTOM", "多饮", 3),  # most evidence first
        ("糖尿病", "TREATED_WITH_DRUG", "二甲双胍", 1),  # then best score (0.95)
        ("糖尿病", "HAS_COMPLICATION", "糖尿病肾病", 1)]  # then ties (0.9) by subject, type, object


def test_the_largest_limit_returns_every_row_and_a_larger_one_is_refused(graph):
    """FalkorDB wrapped LIMIT modulo 2^32 (4294967297 gave 1 row, 2^32 none): integers are counts
    from 0 to 2^31 - 1, which both stores take alike; anything else is the operator's error (exit 1)."""
    every = run(graph, "top_relationships", limit=100)
    assert run(graph, "top_relationships", limit=MAX_INTEGER) == every and len(every) > 1
    assert run(graph, "top_relationships", limit=0) == []
    for text in ("4294967297", "4294967296", "9223372036854775807", "-1", "2147483648"):
        with pytest.raises(EtlError, match=f"--param limit must be an integer from 0 to 2147483647, got '{text}'"):
            run(graph, "top_relationships", limit=text)
    refused = CliRunner().invoke(cli, ["query", "top_relationships", "--param", "limit=4294967297"])
    assert refused.exit_code == 1 and "must be an integer from 0 to 2147483647" in refused.output


def test_a_parameter_with_choices_refuses_other_values():
    template = TEMPLATES["edge_evidence"]
    assert template.bind({"subject": "a", "predicate": "b", "object": "c"})["assertion"] == "present"
    with pytest.raises(EtlError, match="--param assertion must be one of present, absent, possible, all"):
        template.bind({"subject": "a", "predicate": "b", "object": "c", "assertion": "negated"})
    listing = CliRunner().invoke(cli, ["query", "--list"], standalone_mode=False).output
    assert "--param assertion=...   (string, default present, one of present|absent|possible|all)" in listing


def canonical(rows: list[dict]) -> list:
    """Rows as comparable data: node labels sorted (FalkorDB keeps their order, Neo4j does not)."""
    def norm(value):
        if isinstance(value, dict):
            return {k: sorted(v) if k == "_labels" else norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value
    return [norm(row) for row in rows]


ON_THIS_GRAPH = {"pertinent_negatives": {"disease": "糖尿病"}, "concept_surface_forms": {"concept": "糖尿病"},
                 "concept_relationships": {"concept": "E14.900"}, "concepts_by_code": {"prefix": "E1"}}


def test_every_template_returns_the_same_rows_in_both_stores(make_fk_sink, make_neo4j_sink):
    """Rows, order and values: what a FalkorDB user sees is what a Neo4j user sees."""
    results = {}
    for kind, make in (("falkordb", make_fk_sink), ("neo4j", make_neo4j_sink)):
        sink = build(make())
        # Each template with the example values of its `:params` line (what Browser users paste),
        # but for a disease this graph has where the example names another.
        results[kind] = {name: canonical(sink.query(t.text, {**browser_params(t), **ON_THIS_GRAPH.get(name, {})}))
                         for name, t in TEMPLATES.items()}
    assert set(results["neo4j"]) == set(TEMPLATES)
    assert [name for name in TEMPLATES if not results["falkordb"][name]] == []  # each finds rows here
    for name in TEMPLATES:
        assert results["neo4j"][name] == results["falkordb"][name], name
