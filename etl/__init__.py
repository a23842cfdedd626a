"""medkg-etl: Chinese clinical text -> medical knowledge graph (CMeIE relations, Neo4j/FalkorDB)."""
__version__ = "0.1.0"
