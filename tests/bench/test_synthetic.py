"""bench/synthetic.py: the inputs the benches make."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from synthetic import cmeie_notes, first_rows, replicate_notes, sink_documents


def test_first_rows_and_copies_under_new_ids(bench_notes, tmp_path):
    assert first_rows(bench_notes, 0, tmp_path / "all.parquet") == bench_notes  # 0: the input itself
    two = first_rows(bench_notes, 2, tmp_path / "two.parquet")
    assert pq.read_table(two).to_pylist() == pq.read_table(bench_notes).slice(0, 2).to_pylist()
    assert replicate_notes(two, 3, tmp_path / "x3.parquet") == 2
    copies = pq.read_table(tmp_path / "x3.parquet").to_pylist()
    assert len(copies) == 6 and len({r["doc_id"] for r in copies}) == 6
    assert [r["text"] for r in copies] == [r["text"] for r in pq.read_table(two).to_pylist()] * 3


def test_sink_documents_follow_the_schema_and_the_shares(schema):
    docs = sink_documents(400, absent=0.25, possible=0.25)
    evidence = [e for _, rows in docs for e in rows]
    assert len(evidence) == 400 and len({d.doc_id for d, _ in docs}) == 20
    assert all((e.subject_type, e.predicate, e.object_type) in {(t.subject_type, t.predicate, t.object_type)
                                                                for t in schema.triples} for e in evidence)
    shares = {kind: sum(e.object_assertion == kind for e in evidence) / 400 for kind in ("absent", "possible")}
    assert 0.15 < shares["absent"] < 0.35 and 0.15 < shares["possible"] < 0.35
    # The triples do not depend on the shares (their own random stream): only the assertions differ.
    plain = [e for _, rows in sink_documents(400) for e in rows]
    assert [(e.subject, e.predicate, e.object) for e in plain] == [(e.subject, e.predicate, e.object) for e in evidence]


def test_cmeie_notes_keep_the_samples_triples(cmeie_samples):
    notes = cmeie_notes(cmeie_samples[:3])
    assert [n.id for n in notes] == ["cmeie-dev-0", "cmeie-dev-1", "cmeie-dev-2"]
    assert [n.text for n in notes] == [s.text for s in cmeie_samples[:3]]
    assert [[(t.subject, t.predicate, t.object) for t in n.triples] for n in notes] == [
        [(t.subject, t.predicate, t.object) for t in s.triples] for s in cmeie_samples[:3]]


@pytest.mark.parametrize("names", ["uniform", "zipf"])
def test_sink_documents_are_deterministic_with_20_triples_a_document(names):
    docs = sink_documents(45, names=names)
    assert [len(rows) for _, rows in docs] == [20, 20, 5]
    assert sink_documents(45, names=names) == docs
