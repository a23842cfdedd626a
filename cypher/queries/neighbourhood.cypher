// An entity's neighbourhood for visual exploration: the entity, its direct relationships and neighbours
// (in Neo4j Browser this draws the graph).
// Parameters: $name (string) entity name, any type; $limit (integer, default 100) relationships at most
// :params {name: '糖尿病', limit: 100}
// :param limit => 100
MATCH (n:Entity {name: $name})-[r]-(m:Entity)
RETURN n, r, m
ORDER BY r.evidence_count DESC, m.name
LIMIT $limit
