// Pertinent negatives of a disease: the findings its notes deny (the disease present, the finding absent), most documented first.
// Parameters: $disease (string) disease name; $limit (integer, default 50) rows at most
// :params {disease: '胰头癌', limit: 50}
// :param limit => 50
MATCH (d:Disease {name: $disease})<-[:SUBJECT]-(ev:Evidence)-[:OBJECT]->(f:Entity)
WHERE ev.subject_assertion = 'present' AND ev.object_assertion = 'absent'
WITH f, count(DISTINCT ev.doc_id) AS documents, count(ev) AS evidence,
     collect(DISTINCT ev.rel_type) AS relationships
RETURN f.name AS finding, [l IN labels(f) WHERE l <> 'Entity'][0] AS type, relationships,
       documents, evidence
ORDER BY documents DESC, evidence DESC, finding
LIMIT $limit
