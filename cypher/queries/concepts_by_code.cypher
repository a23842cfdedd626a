// Concepts whose code starts with a prefix (ICD-10 C18 = colon cancers, ICD-9-CM-3 51.2 = cholecystectomies), with how many entities and documents reach them.
// Parameters: $prefix (string) code prefix, e.g. C18 or K63; $limit (integer, default 100) rows at most
// :params {prefix: 'C18', limit: 100}
// :param limit => 100
MATCH (k:Concept)
WHERE k.code STARTS WITH $prefix
OPTIONAL MATCH (k)<-[:NORMALIZED_TO]-(e:Entity)
OPTIONAL MATCH (doc:Document)-[:HAS_EVIDENCE]->(:Evidence)-[:SUBJECT|OBJECT]->(e)
RETURN k.code AS code, k.name AS concept, k.system AS system, count(DISTINCT e) AS entities, count(DISTINCT doc) AS documents
ORDER BY code, concept
LIMIT $limit
