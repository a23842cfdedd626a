// Generated from etl/graph/statements.py (index_specs); `etl db init` runs the same.
// FalkorDB: the sink creates `CREATE INDEX FOR (n:L) ON (n.p)` + GRAPH.CONSTRAINT instead.
// Lookups by name across types, evidence by edge and by run, concepts by code.
CREATE INDEX entity_name_idx IF NOT EXISTS FOR (n:Entity) ON (n.name);
CREATE INDEX evidence_edge_key_idx IF NOT EXISTS FOR (n:Evidence) ON (n.edge_key);
CREATE INDEX evidence_run_id_idx IF NOT EXISTS FOR (n:Evidence) ON (n.run_id);
CREATE INDEX concept_code_idx IF NOT EXISTS FOR (n:Concept) ON (n.code);
