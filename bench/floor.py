"""Floor: the three models' forward passes alone, over exactly the windows, span questions and
mentions a run produces on the input (no reading, tokenising, decoding, rules or graph writing
inside the timed part). The span questions include the main-condition question asked in every
window (etl/notes/conditions.py), and the windows are read as the passages `X@window` a run reads. The
assertion pass covers the mentions the shipped decision sends to the classifier (all of them for
`model`, those with a cue near for `gated`, none for `rules`). bench/end_to_end.py compares a run
with it (target: >= 0.8 x the floor).

    .venv/bin/python bench/floor.py [--input notes.parquet] [--rows N] [--json floor.json]
"""
from __future__ import annotations

from common import Clock, documents, emit, load_models, parser, settings, windows_of


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__).parse_args(argv)
    s = settings(args.config)
    relations, spans, assertions = load_models(s, assertion=True)
    docs = documents(args.input, args.rows)
    by_doc = windows_of(docs, s)
    windows = [w for _, w in by_doc]

    # The span questions a run asks: record what the span model encodes (untimed pass): the
    # main-condition question in every window, then the turns over the passages.
    from etl.notes.conditions import CANDIDATE_THRESHOLD, passages, pick_main_condition, stated_topic

    recorded = []
    original = spans.answer_encoded
    spans.answer_encoded = lambda encoded, threshold=None: (recorded.append(list(encoded)),
                                                            original(encoded, threshold))[1]
    asked_docs = [doc for doc in docs if stated_topic(doc["text"]) is None]  # as a run asks
    answers = iter(spans.main_conditions([w.text for _, w in windows_of(asked_docs, s)], CANDIDATE_THRESHOLD)
                   if spans.main_condition_query else ())
    texts, notes, position = [], [], 0
    for doc in docs:  # windows_of lists each document's windows together, in document order
        mine = [w for _, w in by_doc[position:position + len(windows_of([doc], s))]]
        position += len(mine)
        condition = stated_topic(doc["text"])
        if condition is None and spans.main_condition_query:
            condition = pick_main_condition(doc["text"], mine, [next(answers) for _ in mine])
        read = passages(mine, condition)
        texts += [p.text for p in read]
        notes += [p.of_a_note for p in read]
    predicted = relations.predict_encoded(relations.encode(texts), notes)
    asked = [(t, r) for t, r in zip(texts, predicted) if r]
    triples = spans.extract_batch(asked, [n for n, r in zip(notes, predicted) if r])
    spans.answer_encoded = original
    questions = [e for turn in recorded for e in turn]

    # The mentions stage 3 judges: every distinct subject and object place of every window.
    from etl.models.assertion.data import Mention
    from etl.models.tokens import batch_rows

    places = {(text, start, end) for (text, _), found in zip(asked, triples)
              for t in found for start, end in ((t.subject_start, t.subject_end), (t.object_start, t.object_end))}
    local = [assertions.local(Mention(*place)) for place in sorted(places)]
    if assertions.decision == "gated":
        local = [m for m in local if assertions.cue_near(m)]
    elif assertions.decision == "rules":
        local = []
    mentions = [assertions.encoder.encode(m) for m in local]

    # Pre-built fixed-shape batches, as the predictors build them.
    from etl.compat import tf
    from etl.models.spans.data import make_batch, model_inputs as span_inputs
    from etl.models.tokens import group_by_bucket, pad_to

    from etl.models.assertion.data import make_batch as mention_batch
    from etl.models.relation.model import model_inputs

    ids = relations.predictor.token_ids(texts)
    # pre-built model inputs: token ids, segment ids and (with the lexical branch) feature ids
    lexical = relations.predictor.lexical
    rel_batches = [[tf.constant(x) for x in model_inputs(pad_to([ids[i] for i in idx], b), lexical)]
                   for b, idx in group_by_bucket([len(x) for x in ids], relations.buckets,
                                                 relations.predictor.batch_size)]
    span_batches = []
    for b, idx in group_by_bucket([len(q.token_ids) for q in questions], spans.buckets, spans.batch_size):
        batch = make_batch([questions[i] for i in idx], b, batch_rows(len(idx), spans.batch_size))
        span_batches.append([tf.constant(x) for x in span_inputs(batch)])

    mention_batches = [[tf.constant(x) for x in mention_batch([mentions[i] for i in idx], b,
                                                              batch_rows(len(idx), assertions.batch_size),
                                                              assertions.encoder.features)]
                       for b, idx in group_by_bucket([len(m.token_ids) for m in mentions], assertions.buckets,
                                                     assertions.batch_size)]

    def assertion_pass():
        for inputs in mention_batches:
            assertions.forward(*inputs).numpy()

    def rel_pass():
        for inputs in rel_batches:
            relations.predictor.forward(*inputs).numpy()

    def span_pass():
        for inputs in span_batches:
            spans.forward(*inputs).numpy()

    rel_pass(), span_pass(), assertion_pass()  # warm-up: traces every shape once
    clock = Clock()
    rel_pass()
    rel_seconds = clock()
    clock = Clock()
    span_pass()
    span_seconds = clock()
    clock = Clock()
    assertion_pass()
    assertion_seconds = clock()
    total = rel_seconds + span_seconds + assertion_seconds
    emit({"benchmark": "floor (forward passes only)", "documents": len(docs), "windows": len(windows),
          "span_questions": len(questions), "mentions": len(places), "assertion_decision": assertions.decision,
          "mentions_through_the_classifier": len(mentions), "relation_seconds": round(rel_seconds, 2),
          "span_seconds": round(span_seconds, 2), "assertion_seconds": round(assertion_seconds, 2),
          "total_seconds": round(total, 2),
          "documents_per_s": round(len(docs) / total, 2), "windows_per_s": round(len(windows) / total, 2)},
         args.json_out)


if __name__ == "__main__":
    main()
