"""The poison-row catalogue through `etl run` into each store (issue 17): a generated Parquet file
with one row per kind of hostile value as id, inside the text and as metadata, mixed with good
rows and a 300 KB note, run with the shipped models. Exit 0 or 2, every row written or
quarantined with its reason, the graph server still alive afterwards, and a rerun adds nothing.

Stores: FalkorDB (a server this test starts, reached through graph.falkordb.url, so that it can
be seen alive afterwards) and the test session's real Neo4j 5.26 (tests/conftest.py; or the one
NEO4J_TEST_URI names)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl.errors import EXIT_OK, EXIT_PARTIAL
from etl.extract import (DUPLICATE_ID, ID_TOO_LONG, INVALID_ID, MISSING_ID, UNDECODABLE_ID,
                         UNDECODABLE_TEXT)
from etl.graph.falkordb.server import FalkorDBServer
from poison_catalogue import HOSTILE, hostile_rows, hostile_table, store_safe_key
from tests.run.test_run import etl, last_report, snapshot


# end to end with the shipped models and a real Neo4j: `make test` only, not `make check`
pytestmark = [pytest.mark.slow, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"relation": ROOT / "models" / "relation", "spans": ROOT / "models" / "spans"}


@pytest.fixture(params=["falkordb", "neo4j"])
def store(request, tmp_path, monkeypatch):
    """(config lines for the store, a function telling whether its server is alive)."""
    if request.param == "falkordb":
        server = FalkorDBServer(tmp_path / "falkordb", appendfsync="no").start()
        yield (f'[graph]\nsink = "falkordb"\nbatch_size = 50\n[graph.falkordb]\n'
               f'url = "unix://{server.socket_path}"\ngraph_name = "poison"\n'), server.alive
        server.stop()
        return
    import neo4j

    target = request.getfixturevalue("neo4j_server")
    target.reset()
    if target.password:
        monkeypatch.setenv("NEO4J_PASSWORD", target.password)
    with neo4j.GraphDatabase.driver(target.uri, auth=target.auth) as driver:
        def alive():
            driver.verify_connectivity()
            return True

        yield (f'[graph]\nsink = "neo4j"\nbatch_size = 50\n[graph.neo4j]\nuri = "{target.uri}"\n'
               f'user = "{target.user}"\ndatabase = "{target.database}"\n'), alive


def expected_outcome(row: dict) -> str:
    """What the README's rules (etl/values.py) say happens to a catalogue row: "ok" or a reason."""
    raw, text = row["doc_id"], row["text"]
    if any(0xD800 <= ord(c) <= 0xDFFF for c in raw):
        return UNDECODABLE_ID
    if not raw.strip():
        return MISSING_ID
    if len(raw.strip().encode("utf-8")) > 400:
        return ID_TOO_LONG
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in raw.strip()):
        return INVALID_ID
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return UNDECODABLE_TEXT
    return "ok"


def test_the_poison_catalogue_runs_through_etl_run(tmp_path, store, shared_data):
    store_config, alive = store
    for kind, folder in MODELS.items():
        assert (folder / "weights.h5").is_file(), f"the shipped {kind} model is missing"
    config = tmp_path / "config.toml"
    config.write_text(f'[relation]\nmodel_dir = "{MODELS["relation"]}"\n[spans]\nmodel_dir = "{MODELS["spans"]}"\n'
                      f'[run]\nreports_dir = "{tmp_path / "reports"}"\nquarantine_dir = "{tmp_path / "q"}"\n'
                      f'[input]\nread_batch_rows = 16\n' + store_config, encoding="utf-8")
    notes = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet").to_pylist()
    good = [n["text"] for n in notes if 100 <= len(n["text"]) <= 300][:10]
    rows = hostile_rows(good)
    pq.write_table(hostile_table(good), tmp_path / "poison.parquet")

    first = etl(config, "run", "--input", str(tmp_path / "poison.parquet"))
    assert first.exit_code in (EXIT_OK, EXIT_PARTIAL), first.output
    assert alive()
    report = last_report(tmp_path)
    assert report["rows_read"] == len(rows) and report["error"] == ""
    assert report["documents_extracted"] + report["documents_quarantined"] == len(rows)

    # every row written or quarantined, each with the reason the rules give
    quarantined = {}
    for line in Path(report["quarantine_file"]).read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert item["detail"] and item["source"].endswith("poison.parquet")
        quarantined[item["row"]] = item["reason"]
    expected = {i: expected_outcome(r) for i, r in enumerate(rows)}
    seen: set[str] = set()
    for i, row in enumerate(rows):  # the first of two rows with the same cleaned id wins
        if expected[i] == "ok":
            if row["doc_id"].strip() in seen:
                expected[i] = DUPLICATE_ID
            seen.add(row["doc_id"].strip())
    assert quarantined == {i: reason for i, reason in expected.items() if reason != "ok"}
    assert {MISSING_ID, INVALID_ID, UNDECODABLE_ID, ID_TOO_LONG, UNDECODABLE_TEXT} <= set(quarantined.values())

    graph = snapshot(config)
    stored_ids = {json.loads(d)["p"]["doc_id"] for d in graph["documents"]}
    assert stored_ids == {rows[i]["doc_id"].strip() for i, reason in expected.items() if reason == "ok"}
    names = [json.loads(e)["p"]["name"] for e in graph["entities"]]
    assert names and all(store_safe_key(n) for n in names)
    assert report["triples"] > 0 and len(graph["evidence"]) == report["triples"]
    sections = {json.loads(d)["p"]["doc_id"]: json.loads(d)["p"].get("meta_section") for d in graph["documents"]}
    assert sections["meta-lone_high"] == "\ufffd" * 3  # the surrogate's 3 bytes are not UTF-8
    assert sections["meta-c0_00"] == " " and sections["meta-padded"] == "  padded  "

    second = etl(config, "run", "--input", str(tmp_path / "poison.parquet"))
    assert second.exit_code == first.exit_code, second.output
    again = last_report(tmp_path)
    assert again["documents_skipped"] == report["documents_extracted"] and again["documents_extracted"] == 0
    assert snapshot(config) == graph and alive()
    assert len(HOSTILE) >= 50  # the catalogue covers every ASCII control character and more
