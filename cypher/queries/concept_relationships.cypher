// The typed relationships of every entity of a concept: `symptoms of K63.5` gathers those of 结肠癌, 乙状结肠腺癌, ...
// Parameters: $concept (string) code (ICD-10 K63.5, ICD-9-CM-3 51.2300) or standard name (结肠恶性肿瘤); $rel_type (string, default all) one relationship type (HAS_SYMPTOM) or all; $limit (integer, default 100) rows at most
// :params {concept: '结肠恶性肿瘤', rel_type: 'HAS_SYMPTOM', limit: 100}
// :param limit => 100
// evidence and documents are summed over the concept's entities (asserted evidence, as on the typed relationships).
MATCH (k:Concept)<-[:NORMALIZED_TO]-(e:Entity)
WHERE k.code = $concept OR k.name = $concept
MATCH (e)-[r]->(o:Entity)
WHERE r.evidence_count IS NOT NULL AND ($rel_type = 'all' OR type(r) = $rel_type)
RETURN type(r) AS relationship, o.name AS object, [l IN labels(o) WHERE l <> 'Entity'][0] AS object_type,
       sum(r.evidence_count) AS evidence, sum(r.doc_count) AS documents, max(r.best_score) AS best_score,
       collect(DISTINCT e.name) AS via
ORDER BY evidence DESC, best_score DESC, relationship, object
LIMIT $limit
