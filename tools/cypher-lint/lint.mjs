// Lint Cypher statements with Neo4j's own language support (@neo4j-cypher/language-support).
//
// stdin: JSON {"statements": [{"name": "...", "query": "...", "parameters": {...}}],
//              "labels": [...], "relationshipTypes": [...]}
// stdout: JSON [{"name", "query", "diagnostics": [{"severity": "error"|"warning", "message", "offset"}]}]
// Exit code: 0 when no statement has an error, 1 otherwise, 2 on bad input.
//
// Function names are checked against the Neo4j 5 function list the package records for its own
// tests (a dump of a real server's SHOW FUNCTIONS), so a FalkorDB-only function (e.g. indegree)
// is reported as an error rather than silently accepted.
import { readFileSync } from 'node:fs';
import { lintCypherQuery } from '@neo4j-cypher/language-support';
import { testData } from './node_modules/@neo4j-cypher/language-support/dist/esm/project/language-support/src/tests/testData.js';

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

let input;
try {
  input = JSON.parse(readFileSync(0, 'utf8'));
} catch (error) {
  console.error(`lint.mjs: stdin is not JSON: ${error.message}`);
  process.exit(2);
}

const builtIns = {};
for (const [version, registry] of Object.entries(testData.mockSchema.functions)) {
  builtIns[version] = Object.fromEntries(Object.entries(registry).filter(([, f]) => f.isBuiltIn));
}

let failed = false;
const results = [];
for (const statement of input.statements ?? []) {
  const dbSchema = {
    labels: input.labels ?? [],
    relationshipTypes: input.relationshipTypes ?? [],
    parameters: statement.parameters ?? {},
    functions: builtIns,
    procedures: {},
  };
  const { diagnostics } = lintCypherQuery(statement.query, dbSchema);
  const found = diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] ?? String(d.severity),
    message: d.message,
    offset: d.offsets?.start,
  }));
  if (found.some((d) => d.severity === 'error')) failed = true;
  results.push({ name: statement.name, query: statement.query, diagnostics: found });
}
// Set the exit code and let Node exit on its own: process.exit() right after a write to a pipe
// cuts the output at 64 KiB (stdout to a pipe is asynchronous).
process.exitCode = failed ? 1 : 0;
process.stdout.write(JSON.stringify(results, null, 1));
