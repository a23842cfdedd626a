"""The models (relation, spans, assertion, normalizer) and the code they share.

Their modules import TensorFlow through `etl.compat`; import them lazily from the CLI. Free of
TensorFlow, for the CLI and for code that runs before `etl.runtime.configure`: registry.py (the
kinds, their classes by import path, `load_model`), folder.py, tokens.py and encoder.py's names.
"""
