"""Baseline: the straightforward way, same models, same input, same embedded store.

One `model.predict` per window and per span question, one graph write (its own MERGE statement
and round trip) per triple. Compare its documents/s with bench/end_to_end.py.

    .venv/bin/python bench/baseline.py [--input notes.parquet] [--rows N] [--sample N] [--json out.json]
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from common import Clock, documents, emit, load_models, parser, settings


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--sample", type=int, default=0,
                   help="only N documents, every k-th of the input so all sections are represented "
                        "(the rate is what counts; the baseline is slow)")
    args = p.parse_args(argv)
    s = settings(args.config)
    relations, spans = load_models(s)
    docs = documents(args.input, args.rows)
    if args.sample:
        docs = docs[:: max(len(docs) // args.sample, 1)][: args.sample]

    import numpy as np
    from etl.graph import open_sink
    from etl.models.spans.pointers import decode_pointers
    from etl.models.relation.model import model_inputs as relation_inputs
    from etl.models.spans.data import make_batch, model_inputs as span_inputs
    from etl.schema import load_schema
    from etl.windows import make_windows

    schema = load_schema()
    tokenizer = relations.predictor.tokenizer
    largest = relations.buckets[-1]

    def relation_probs(text):
        ids = np.array([tokenizer.encode(text, maxlen=largest)[0]])
        return relations.model.predict(relation_inputs(ids, relations.predictor.lexical), verbose=0)[0]

    def answer(query, text, subject=""):
        e = spans.encoder.encode(query, text, subject=subject)
        probs = spans.model.predict(span_inputs(make_batch([e], len(e.token_ids))), verbose=0)[0]
        probs = 1 / (1 + np.exp(-probs))
        first = e.passage_start
        n = len(e.offsets)
        return decode_pointers(probs[first:first + n, 0], probs[first:first + n, 1], e.offsets,
                               spans.start_threshold, spans.end_threshold, spans.max_span_len)

    with tempfile.TemporaryDirectory() as tmp:
        graph = replace(s.graph, falkordb=replace(s.graph.falkordb, data_dir=Path(tmp) / "graph"))
        with open_sink(graph, schema=schema) as sink:
            sink.init_schema()
            triples = windows = questions = 0
            clock = Clock()
            for doc in docs:
                for window in make_windows(doc["text"], s.windows.max_chars, s.windows.overlap_chars):
                    windows += 1
                    probs = relation_probs(window.text)
                    for i in np.flatnonzero(probs >= relations.thresholds):
                        predicate = relations.labels[i]
                        if predicate not in spans.predicates:
                            continue
                        questions += 1
                        for subject in answer(spans.subject_query(predicate), window.text):
                            s_text = window.text[subject.start:subject.end]
                            questions += 1
                            for obj in answer(spans.object_query(predicate, s_text), window.text, s_text):
                                o_text = window.text[obj.start:obj.end]
                                pairs = schema.types_for(predicate)
                                s_type, o_type = pairs[0]
                                label_s, label_o = schema.label(s_type), schema.label(o_type)
                                rel = schema.rel_type(predicate)
                                # one write per triple: its own statement and round trip
                                sink.query(
                                    f"MERGE (a:{label_s} {{name: $s}}) MERGE (b:{label_o} {{name: $o}}) "
                                    f"MERGE (a)-[r:{rel}]->(b) "
                                    "CREATE (e:BaselineEvidence {doc_id: $doc, s_start: $ss, o_start: $os}) "
                                    "RETURN count(e) AS n",
                                    {"s": s_text, "o": o_text, "doc": doc["doc_id"],
                                     "ss": window.start + subject.start, "os": window.start + obj.start})
                                triples += 1
            seconds = clock()
    emit({"benchmark": "baseline (predict per window/question, one write per triple)",
          "documents": len(docs), "windows": windows, "span_questions": questions, "triples": triples,
          "seconds": round(seconds, 2), "documents_per_s": round(len(docs) / seconds, 3)}, args.json_out)


if __name__ == "__main__":
    main()
