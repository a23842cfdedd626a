"""Assertion status of a finding in its note: present, absent (negated) or possible (uncertain),
plus who it concerns (patient or family) and whether it is history.

    rules.py            ConText-style rule engine, cues as data in context_rules.tsv (no TensorFlow)
    data.py             a mention in its sentence -> tokens, mention flags, the rules' cue features
    model.py            ELECTRA classifier; AssertionClassifier (inference and the model/rules/gated decision)
    training.py         `etl train assertion` on CHIP-CDEE (etl.data.cdee places the findings)
    metrics.py          accuracy and per-status P/R/F1, shared by training and `etl evaluate assertions`
"""
