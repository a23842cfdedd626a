// Drugs reachable from a symptom in two hops: symptom <-HAS_SYMPTOM- disease -TREATED_WITH_DRUG-> drug.
// Parameters: $symptom (string) symptom name; $limit (integer, default 50) rows at most
// :params {symptom: '多饮', limit: 50}
// :param limit => 50
MATCH (s:Symptom {name: $symptom})<-[:HAS_SYMPTOM]-(d:Disease)-[t:TREATED_WITH_DRUG]->(drug:Drug)
RETURN drug.name AS drug, count(DISTINCT d) AS via_diseases, collect(DISTINCT d.name) AS diseases,
       max(t.best_score) AS best_score
ORDER BY via_diseases DESC, best_score DESC, drug
LIMIT $limit
