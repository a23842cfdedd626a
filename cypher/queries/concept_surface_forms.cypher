// The surface forms of a concept: every entity normalised to it, with the documents that name it.
// Parameters: $concept (string) code (ICD-10 K63.5, ICD-9-CM-3 51.2300) or standard name (结肠恶性肿瘤); $limit (integer, default 100) rows at most
// :params {concept: '结肠恶性肿瘤', limit: 100}
// :param limit => 100
// documents: distinct documents with evidence naming the entity; score: the normaliser's cosine score.
MATCH (k:Concept)<-[n:NORMALIZED_TO]-(e:Entity)
WHERE k.code = $concept OR k.name = $concept
OPTIONAL MATCH (doc:Document)-[:HAS_EVIDENCE]->(:Evidence)-[:SUBJECT|OBJECT]->(e)
RETURN k.code AS code, k.name AS concept, k.system AS system, e.name AS entity, [l IN labels(e) WHERE l <> 'Entity'][0] AS type,
       count(DISTINCT doc) AS documents, n.score AS score
ORDER BY documents DESC, score DESC, entity
LIMIT $limit
