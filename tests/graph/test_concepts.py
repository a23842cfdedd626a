"""Normalisation in the graph (etl/normalize.py), in a real FalkorDB and a real Neo4j, with the
shipped normaliser: Disease entities gain NORMALIZED_TO relationships to Concept nodes once; a rerun
does nothing; a new normaliser version re-links every entity (no document is touched); a concept
whose entities are gone is pruned."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl.normalize import normalize_entities

from .conftest import doc, ev


# starts or talks to a real FalkorDB or Neo4j: `make test` only, not `make check`
pytestmark = pytest.mark.server

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "normalizer"


@pytest.fixture(scope="module")
def normalizer():
    from etl.models.normalizer.model import Normalizer

    return Normalizer.load(SHIPPED)


def concepts(sink) -> list[tuple]:
    return sorted((r["e"], r["k"], r["code"], r["system"], r["model"]) for r in sink.query(
        "MATCH (e:Disease)-[r:NORMALIZED_TO]->(k:Concept) "
        "RETURN e.name AS e, k.name AS k, k.code AS code, k.system AS system, r.model AS model"))


def test_entities_are_linked_once_relinked_by_a_new_version_and_dead_concepts_pruned(store, normalizer):
    sink = store.make()
    sink.write_documents([doc("n1"), doc("n2")], [
        ev("n1", "乙状结肠腺癌", "临床表现", "腹痛", 0.9, 0),
        ev("n1", "高血压", "药物治疗", "氨氯地平", 0.9, 10),
        ev("n2", "结肠恶性肿瘤", "临床表现", "便血", 0.9, 0),
        ev("n2", "阿斯顿发生的", "临床表现", "便血", 0.9, 20),  # not a diagnosis: no concept
    ], run_id="r1")
    expected = normalizer.normalize(["乙状结肠腺癌", "结肠恶性肿瘤", "阿斯顿发生的", "高血压"])
    assert expected[2] == [] and all(expected[i] for i in (0, 1, 3))

    first = normalize_entities(sink, normalizer, ["Disease"], page=2, progress=lambda line: None)
    assert (first.entities, first.linked) == (4, 3) and first.links == sum(len(m) for m in expected)
    linked = concepts(sink)
    assert {e for e, *_ in linked} == {"乙状结肠腺癌", "结肠恶性肿瘤", "高血压"}
    assert {(e, k) for e, k, *_ in linked} == {(name, m.name) for name, found in zip(
        ["乙状结肠腺癌", "结肠恶性肿瘤", "阿斯顿发生的", "高血压"], expected) for m in found}
    assert {model for *_, model in linked} == {normalizer.version}
    assert all(system == "ICD-10-BJ-6.01" and code for _, _, code, system, _ in linked)
    nodes = sink.stats()["Concept"]
    assert nodes == len({k for _, k, *_ in linked})

    again = normalize_entities(sink, normalizer, ["Disease"], page=2, progress=lambda line: None)
    assert again.entities == 0 and concepts(sink) == linked and sink.stats()["Concept"] == nodes

    newer = replace_version(normalizer, "normalizer-000000000000")
    relinked = normalize_entities(sink, newer, ["Disease"], page=100, progress=lambda line: None)
    assert relinked.entities == 4 and sink.stats()["NORMALIZED_TO"] == first.links
    assert {model for *_, model in concepts(sink)} == {"normalizer-000000000000"}

    # n1 rewritten without 乙状结肠腺癌 and 高血压: those entities go, and their concepts with them
    # unless another entity still points there.
    sink.write_documents([doc("n1", "h2")], [ev("n1", "胃溃疡", "临床表现", "腹痛", 0.9, 0)], run_id="r2")
    after = normalize_entities(sink, newer, ["Disease"], page=100, progress=lambda line: None)
    assert after.entities == 1  # only 胃溃疡 is new
    left = {k for _, k, *_ in concepts(sink)}
    assert sink.stats()["Concept"] == len(left)  # no concept without an entity
    assert "高血压" not in {e for e, *_ in concepts(sink)} and after.concepts_pruned >= 1


def replace_version(normalizer, version: str):
    """The same loaded model under another version (what a retrained folder looks like to the stage)."""
    import copy

    other = copy.copy(normalizer)
    other.version = version
    return other


SURGERY = Path(__file__).resolve().parents[2] / "models" / "normalizer-surgery"


@pytest.fixture(scope="module")
def surgery_normalizer():
    from etl.models.normalizer.model import Normalizer

    return Normalizer.load(SURGERY)


def linked(sink, label: str) -> list[tuple]:
    return sorted((r["e"], r["k"], r["code"], r["system"], r["model"]) for r in sink.query(
        f"MATCH (e:{label})-[r:NORMALIZED_TO]->(k:Concept) "
        "RETURN e.name AS e, k.name AS k, k.code AS code, k.system AS system, r.model AS model"))


def test_surgery_entities_get_icd9_concepts_from_their_own_folder(store, normalizer, surgery_normalizer):
    """Each label by its own folder (etl.normalize.targets): operations -> ICD-9-CM-3 concepts, diagnoses
    still -> ICD-10; a rerun does nothing; a new surgery version re-links only the Surgery entities."""
    from etl.normalize import normalize_all

    sink = store.make()
    sink.write_documents([doc("s1")], [
        ev("s1", "胆囊结石", "手术治疗", "腹腔镜胆囊切除术", 0.9, 0),
        ev("s1", "肺恶性肿瘤", "手术治疗", "右上肺楔形切除术", 0.9, 20),
        ev("s1", "胆囊结石", "手术治疗", "今天天气很好我们去公园", 0.9, 40),  # names no operation
    ], run_id="r1")
    jobs = [(normalizer, ["Disease"], 0.5), (surgery_normalizer, ["Surgery"], 0.5)]
    first = normalize_all(sink, jobs, page=2, progress=lambda line: None)
    assert first.by_label["Surgery"]["entities"] == 3 and first.by_label["Disease"]["entities"] == 2
    assert first.by_label["Surgery"]["model"] == surgery_normalizer.version
    operations, diagnoses = linked(sink, "Surgery"), linked(sink, "Disease")
    assert {e for e, *_ in operations} == {"腹腔镜胆囊切除术", "右上肺楔形切除术"}
    assert {("腹腔镜胆囊切除术", "腹腔镜下胆囊切除术", "51.2300"), ("右上肺楔形切除术", "肺楔形切除术", "32.2904")} <= \
        {(e, k, code) for e, k, code, *_ in operations}
    assert all(system == "ICD-9-CM-3" and code and model == surgery_normalizer.version
               for _, _, code, system, model in operations)
    assert diagnoses and all(system == "ICD-10-BJ-6.01" and model == normalizer.version
                             for *_, system, model in diagnoses)
    nodes = sink.stats()["Concept"]

    again = normalize_all(sink, jobs, page=2, progress=lambda line: None)
    assert again.entities == 0 and linked(sink, "Surgery") == operations and sink.stats()["Concept"] == nodes

    newer = replace_version(surgery_normalizer, "normalizer-111111111111")
    relinked = normalize_all(sink, [(normalizer, ["Disease"], 0.5), (newer, ["Surgery"], 0.5)], page=10,
                             progress=lambda line: None)
    assert relinked.by_label == {
        "Disease": {"entities": 0, "linked": 0, "model": normalizer.version, "min_score": 0.5},
        "Surgery": {"entities": 3, "linked": 2, "model": "normalizer-111111111111", "min_score": 0.5}}
    assert linked(sink, "Disease") == diagnoses
    assert {model for *_, model in linked(sink, "Surgery")} == {"normalizer-111111111111"}
