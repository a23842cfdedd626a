"""The relation classifier: which of the 44 CMeIE predicates a window of text holds.

    model.py     ALBERT encoder + head, beside the lexical branch; RelationClassifier (inference)
    training.py  `etl train relation`: epochs, dev evaluation, mix weight and thresholds
    lexical.py   the lexical branch (characters + bigrams, linear)
    losses.py    BCE / weighted BCE / focal loss for 44 unbalanced labels
    thresholds.py  per-predicate threshold tuning and its cross-fit
    pretrain.py  optional CMeEE tagging warm-up of a from-scratch encoder
"""
