"""The note rules: how the span model's window triples become what a clinical note states.

Rules as data and small functions, each tested sentence by sentence (tests/notes/), applied by
reading.py in a fixed order. They are part of the span model's run-time version
(etl/models/spans/model.py, CONDITION_MODULES): editing a rule re-extracts every document.

    conditions.py   the note's main condition; a window read as `X@window`
    names.py        where a subject or object name begins and ends (as the guideline cuts them)
    findings.py     what is no finding (normal states, exam words), tests' kinds, treatments
    history.py      a past illness owns only its own sentence
    attribution.py  which disease a finding, site or treatment belongs to
    lists.py        the other items of a listed finding; two findings written as one
    reading.py      window triples -> document evidence, then the note read as a whole
"""
