"""Data layer: readers for CMeIE / CMeEE, offset recovery, the train/dev split, training converters."""
