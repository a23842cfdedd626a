"""Model code shared by the relation classifier and the span extractor.

Everything here imports TensorFlow through `etl.compat`; import these modules lazily from the CLI.
"""
