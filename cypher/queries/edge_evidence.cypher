// Where does this edge come from? The documents, sentences, offsets, scores and assertions behind one relationship.
// Parameters: $subject (string) subject name; $predicate (string) Chinese predicate (临床表现) or
//   relationship type (HAS_SYMPTOM); $object (string) object name; $assertion (string, default present,
//   one of present|absent|possible|all) which evidence: present = both ends present (what the typed
//   relationship counts), absent = an end denied, possible = an end uncertain and none denied, all = every
//   piece (also for a pair with no typed relationship); $limit (integer, default 100) rows at most
// :params {subject: '糖尿病', predicate: '临床表现', object: '多饮', assertion: 'present', limit: 100}
// :param limit => 100
MATCH (doc:Document)-[:HAS_EVIDENCE]->(ev:Evidence)-[:SUBJECT]->(s:Entity {name: $subject})
MATCH (ev)-[:OBJECT]->(o:Entity {name: $object})
WHERE (ev.predicate = $predicate OR ev.rel_type = $predicate)
  AND ($assertion = 'all' OR coalesce(ev.assertion, 'present') = $assertion)
RETURN doc.doc_id AS doc_id, doc.source_file AS source_file, ev.sentence AS sentence,
       ev.subject_start AS subject_start, ev.subject_end AS subject_end,
       ev.object_start AS object_start, ev.object_end AS object_end,
       ev.score AS score, coalesce(ev.assertion, 'present') AS assertion,
       ev.subject_assertion AS subject_assertion, ev.object_assertion AS object_assertion,
       ev.subject_experiencer AS subject_experiencer, ev.object_experiencer AS object_experiencer,
       ev.subject_historical AS subject_historical, ev.object_historical AS object_historical,
       ev.relation_model AS relation_model, ev.span_model AS span_model,
       ev.assertion_model AS assertion_model, ev.run_id AS run_id
ORDER BY score DESC, doc_id, subject_start
LIMIT $limit
