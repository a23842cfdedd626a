// Differential diagnoses (鉴别诊断) and complications (并发症) of a disease, in one list.
// Parameters: $disease (string) disease name; $limit (integer, default 50) rows at most
// :params {disease: '糖尿病', limit: 50}
// :param limit => 50
MATCH (d:Disease {name: $disease})-[r:HAS_DIFFERENTIAL_DIAGNOSIS|HAS_COMPLICATION]->(other:Disease)
RETURN CASE type(r) WHEN 'HAS_COMPLICATION' THEN 'complication' ELSE 'differential diagnosis' END AS kind,
       other.name AS disease, r.evidence_count AS evidence, r.best_score AS best_score
ORDER BY kind, evidence DESC, best_score DESC, disease
LIMIT $limit
