import json

from etl.schema import CYPHER_IDENTIFIER, SYNONYM_PREDICATE, Schema, load_schema

# Words that must not be used as bare labels/relationship types.
CYPHER_KEYWORDS = {"MATCH", "MERGE", "CREATE", "DELETE", "RETURN", "WHERE", "WITH", "SET", "NODE",
                   "RELATIONSHIP", "CALL", "UNWIND", "ORDER", "LIMIT", "NULL", "TRUE", "FALSE"}


def test_builtin_schema_equals_the_cmeie_file(shared_data):
    from_file = Schema.from_jsonl(shared_data / "cmeie" / "53_schemas.jsonl")
    builtin = load_schema()
    assert builtin.triples == from_file.triples
    rows = [json.loads(line) for line in open(shared_data / "cmeie" / "53_schemas.jsonl", encoding="utf-8")]
    assert len(builtin.triples) == len(rows) == 53


def test_counts(schema):
    assert len(schema.predicates) == 44
    assert len(schema.entity_types) == 11
    assert len(schema.types_for(SYNONYM_PREDICATE)) == 10
    assert [p.name for p in schema.predicates.values() if p.is_synonym] == [SYNONYM_PREDICATE]


def test_graph_names_are_valid_unique_identifiers(schema):
    labels, rel_types = schema.labels, schema.rel_types
    for name in labels + rel_types:
        assert CYPHER_IDENTIFIER.match(name), name
        assert name.upper() not in CYPHER_KEYWORDS, name
    assert len(set(labels)) == len(labels) == 11
    assert len(set(rel_types)) == len(rel_types) == 44
    assert not set(labels) & set(rel_types)
    assert {"Disease", "Symptom", "Drug", "Examination", "BodyPart"} <= set(labels)
    assert schema.rel_type("临床表现") == "HAS_SYMPTOM"
    assert schema.rel_type("药物治疗") == "TREATED_WITH_DRUG"
    assert schema.rel_type(SYNONYM_PREDICATE) == "SYNONYM_OF"


def test_every_predicate_has_both_mrc_questions(schema):
    for name, predicate in schema.predicates.items():
        assert predicate.subject_query and "{subject}" not in predicate.subject_query
        asked = schema.object_query(name, "糖尿病")
        assert "糖尿病" in asked and "{" not in asked


def test_unknown_names_are_refused(schema, tmp_path):
    import pytest

    with pytest.raises(KeyError):
        schema.label("Disease) DETACH DELETE (n")
    with pytest.raises(KeyError):
        schema.rel_type("不存在")
    bad = tmp_path / "schema.jsonl"
    bad.write_text('{"subject_type": "疾病", "predicate": "新关系", "object_type": "症状"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="新关系"):
        Schema.from_jsonl(bad)
    assert schema.allows("疾病", "临床表现", "症状") and not schema.allows("症状", "临床表现", "疾病")
