// Overview: the best supported relationships in the graph, by how much evidence backs them.
// Parameters: $limit (integer, default 25) rows at most
// :params {limit: 25}
// :param limit => 25
MATCH (s:Entity)-[r]->(o:Entity)
RETURN s.name AS subject, type(r) AS relationship, r.predicate AS predicate, o.name AS object,
       r.evidence_count AS evidence, r.doc_count AS documents, r.best_score AS best_score
ORDER BY evidence DESC, best_score DESC, subject, relationship, object
LIMIT $limit
