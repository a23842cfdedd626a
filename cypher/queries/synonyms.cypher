// Synonyms of an entity: names linked by 同义词 (SYNONYM_OF) in either direction, up to two steps away.
// Parameters: $name (string) entity name, any type
// :params {name: '糖尿病'}
MATCH (n:Entity {name: $name})-[:SYNONYM_OF*1..2]-(m:Entity)
WHERE m <> n
RETURN DISTINCT m.name AS synonym, [l IN labels(m) WHERE l <> 'Entity'][0] AS type
ORDER BY synonym
