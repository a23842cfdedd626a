"""Assertion status of a finding in its note: present, absent (negated) or possible (uncertain),
plus who it concerns (patient or family) and whether it is history.

`rules` is a ConText-style rule engine (cues in `context_rules.tsv`, no TensorFlow); `metrics`
scores predicted statuses against gold ones.
"""
