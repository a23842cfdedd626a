"""The Neo4j store: settings (settings.py: `[graph.neo4j]`, the run-lock target), the sink
(sink.py: the official driver, one managed transaction per write) and its dialect (dialect.py:
schema set-up, cypher/schema/*.cypher, reading the schema back).

Nothing is imported here: etl/config.py imports settings.py, which must not load the driver.
"""
