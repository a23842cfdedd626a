"""The run's driver (etl/run/driver.py): finished documents gathered into few sink writes."""
from etl.records import PRESENT, Document, Evidence
from etl.report import RunReport
from etl.run.driver import Driver, WriteGatherer
from etl.run.options import RunOptions


def _finished(doc_id: str, triples: int) -> tuple[Document, list[Evidence]]:
    """A document as the assertion stage hands it to the writer, with `triples` evidence rows."""
    rows = [Evidence(doc_id=doc_id, subject="胃炎", subject_type="疾病", predicate="临床表现", object=f"症状{n}",
                     object_type="症状", score=0.9, subject_start=0, subject_end=2, object_start=3 + 4 * n,
                     object_end=6 + 4 * n, subject_assertion=PRESENT, object_assertion=PRESENT)
            for n in range(triples)]
    return Document(doc_id=doc_id, source_file="notes.parquet", content_hash=f"h-{doc_id}"), rows


def _gathering(tmp_path, **options):
    """A driver whose sink is the real `graph.sink = "none"` + --triples-out sink: each sink write
    is one Parquet row group, so the file shows how the documents were gathered."""
    from etl.config import GraphSettings
    from etl.graph import open_sink
    from etl.schema import load_schema

    sink = open_sink(GraphSettings(sink="none"), schema=load_schema(), triples_out=tmp_path / "t.parquet")
    report = RunReport(run_id="r", input="-", sink="-", started="-")
    driver = Driver({"relation": "v", "spans": "v"}, sink, report, RunOptions(**options), quarantine=None)
    return driver, WriteGatherer(driver), sink


def test_finished_documents_are_gathered_into_writes_of_write_triples_rows(tmp_path):
    import pyarrow.parquet as pq

    driver, gathered, sink = _gathering(tmp_path, write_triples=5)
    for n, triples in enumerate((2, 2, 2, 0, 3, 1, 0)):  # as batches arrive from the assertion stage
        gathered.add([_finished(f"d{n}", triples)])
        if n == 2:  # 6 rows waiting >= 5: the first write, its three documents counted only now
            assert (driver.report.graph_writes, driver.report.documents_extracted) == (1, 3)
    assert driver.report.graph_writes == 1  # 4 rows of 4 documents wait for the end of the run
    gathered.flush()
    gathered.flush()  # nothing left: no empty write
    report = driver.report
    assert (report.graph_writes, report.documents_extracted, report.triples) == (2, 7, 10)
    sink.close()
    written = pq.ParquetFile(tmp_path / "t.parquet")
    assert [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)] == [6, 4]
    assert [sorted(written.read_row_group(i, columns=["doc_id"]).column(0).to_pylist()) for i in range(2)] == [
        ["d0", "d0", "d1", "d1", "d2", "d2"], ["d4", "d4", "d4", "d5"]]


def test_a_document_waits_at_most_write_seconds_for_its_write(tmp_path):
    import time

    driver, gathered, sink = _gathering(tmp_path, write_triples=1000, write_seconds=0.2)
    gathered.add([_finished("d0", 1)])
    gathered.add([_finished("d1", 1)])
    assert driver.report.graph_writes == 0
    time.sleep(0.25)
    gathered.add([_finished("d2", 0)])  # the oldest has waited long enough: all three are written
    assert (driver.report.graph_writes, driver.report.documents_extracted) == (1, 3)
    sink.close()


