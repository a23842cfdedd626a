// Where does this edge come from? The documents, sentences, offsets and scores behind one relationship.
// Parameters: $subject (string) subject name; $predicate (string) Chinese predicate (临床表现) or
//   relationship type (HAS_SYMPTOM); $object (string) object name; $limit (integer, default 100) rows at most
// :params {subject: '糖尿病', predicate: '临床表现', object: '多饮', limit: 100}
MATCH (doc:Document)-[:HAS_EVIDENCE]->(ev:Evidence)-[:SUBJECT]->(s:Entity {name: $subject})
MATCH (ev)-[:OBJECT]->(o:Entity {name: $object})
WHERE ev.predicate = $predicate OR ev.rel_type = $predicate
RETURN doc.doc_id AS doc_id, doc.source_file AS source_file, ev.sentence AS sentence,
       ev.subject_start AS subject_start, ev.subject_end AS subject_end,
       ev.object_start AS object_start, ev.object_end AS object_end,
       ev.score AS score, ev.relation_model AS relation_model, ev.span_model AS span_model,
       ev.run_id AS run_id
ORDER BY score DESC, doc_id, subject_start
LIMIT $limit
