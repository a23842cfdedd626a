"""The relation-conditioned MRC span extractor: the subjects and objects of each predicted relation.

    model.py       ELECTRA + start/end pointers; SpanExtractor (inference, multi-turn questions)
    data.py        questions, encoding, batches, CMeEE entity questions, negatives
    pointers.py    character <-> token offsets, pointer decoding, barriers
    lexicon.py     known entity strings flagged beside the passage tokens
    training.py    `etl train spans`
    evaluation.py  span and end-to-end triple figures, decoding-threshold tuning
"""
