// Drugs for a disease: the drug treatments (药物治疗) recorded for it, best supported first.
// Parameters: $disease (string) disease name; $limit (integer, default 50) rows at most
// :params {disease: '糖尿病', limit: 50}
// :param limit => 50
MATCH (d:Disease {name: $disease})-[r:TREATED_WITH_DRUG]->(drug:Drug)
RETURN drug.name AS drug, r.evidence_count AS evidence, r.doc_count AS documents,
       r.best_score AS best_score, r.mean_score AS mean_score
ORDER BY evidence DESC, best_score DESC, drug
LIMIT $limit
