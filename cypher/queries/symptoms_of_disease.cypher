// Symptoms of a disease: the clinical manifestations (临床表现) its notes assert, best supported first.
// Parameters: $disease (string) disease name; $limit (integer, default 50) rows at most
// :params {disease: '糖尿病', limit: 50}
// :param limit => 50
// evidence/documents/scores count asserted evidence only; absent/possible: the same pair's evidence
// with a denied or uncertain end (symptoms only ever denied: pertinent_negatives.cypher).
MATCH (d:Disease {name: $disease})-[r:HAS_SYMPTOM]->(s:Symptom)
RETURN s.name AS symptom, r.evidence_count AS evidence, r.doc_count AS documents,
       r.best_score AS best_score, r.mean_score AS mean_score,
       r.absent_count AS absent, r.possible_count AS possible
ORDER BY evidence DESC, best_score DESC, symptom
LIMIT $limit
