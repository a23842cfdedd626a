// Generated from etl/graph/statements.py (index_specs); `etl db init` runs the same.
// FalkorDB: the sink creates `CREATE INDEX FOR (n:L) ON (n.p)` + GRAPH.CONSTRAINT instead.
// One entity per (label, normalised name); one Document per doc_id;
// one Evidence per key; one Run per run_id; one Concept per standard name.
CREATE CONSTRAINT other_name_key IF NOT EXISTS FOR (n:Other) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT treatment_name_key IF NOT EXISTS FOR (n:Treatment) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT surgery_name_key IF NOT EXISTS FOR (n:Surgery) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT examination_name_key IF NOT EXISTS FOR (n:Examination) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT epidemiology_name_key IF NOT EXISTS FOR (n:Epidemiology) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT disease_name_key IF NOT EXISTS FOR (n:Disease) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT symptom_name_key IF NOT EXISTS FOR (n:Symptom) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT socialfactor_name_key IF NOT EXISTS FOR (n:SocialFactor) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT drug_name_key IF NOT EXISTS FOR (n:Drug) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT bodypart_name_key IF NOT EXISTS FOR (n:BodyPart) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT prognosis_name_key IF NOT EXISTS FOR (n:Prognosis) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT document_doc_id_key IF NOT EXISTS FOR (n:Document) REQUIRE n.doc_id IS UNIQUE;
CREATE CONSTRAINT evidence_key_key IF NOT EXISTS FOR (n:Evidence) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT run_run_id_key IF NOT EXISTS FOR (n:Run) REQUIRE n.run_id IS UNIQUE;
CREATE CONSTRAINT concept_name_key IF NOT EXISTS FOR (n:Concept) REQUIRE n.name IS UNIQUE;
