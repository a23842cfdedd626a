// What did the last finished run add? The relationships first seen in the most recent finished run.
// Parameters: $limit (integer, default 200) rows at most
// :params {limit: 200}
// :param limit => 200
MATCH (run:Run)
WHERE run.finished_at IS NOT NULL
WITH run ORDER BY run.started_at DESC LIMIT 1
MATCH (s:Entity)-[r]->(o:Entity)
WHERE r.first_run = run.run_id
RETURN run.run_id AS run_id, s.name AS subject, type(r) AS relationship, r.predicate AS predicate,
       o.name AS object, r.evidence_count AS evidence
ORDER BY relationship, subject, object
LIMIT $limit
