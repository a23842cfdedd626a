// Differential-diagnosis helper: diseases ranked by how many of the given symptoms they show.
// Parameters: $symptoms (list of strings) symptom names; $limit (integer, default 20) rows at most
// :params {symptoms: ['多饮', '多尿', '体重下降'], limit: 20}
// :param limit => 20
UNWIND $symptoms AS wanted
MATCH (d:Disease)-[r:HAS_SYMPTOM]->(s:Symptom {name: wanted})
WITH d, count(DISTINCT s) AS matched, collect(DISTINCT s.name) AS matched_symptoms,
     sum(r.best_score) AS support
RETURN d.name AS disease, matched, size($symptoms) AS asked, matched_symptoms,
       round(support * 1000.0) / 1000.0 AS support
ORDER BY matched DESC, support DESC, disease
LIMIT $limit
