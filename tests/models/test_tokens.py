from etl.models.tokens import batch_rows, bucket_length, group_by_bucket, load_tokenizer, pad_to


def test_buckets():
    assert [bucket_length(n, (64, 128, 256)) for n in (0, 64, 65, 256, 999)] == [64, 64, 128, 256, 256]
    batches = group_by_bucket([10, 100, 20, 300, 70], (64, 128, 256), batch_size=1)
    assert [(b, ids) for b, ids in batches] == [(64, [0]), (64, [2]), (128, [1]), (128, [4]), (256, [3])]
    assert pad_to([[1, 2, 3], [4]], 2).tolist() == [[1, 2], [4, 0]]


def test_partial_batches_pad_to_a_few_row_counts():
    # the span extractor's questions and the assertion classifier's mentions (one function, issue 29)
    assert [batch_rows(n, 16) for n in (1, 2, 3, 5, 9, 16)] == [1, 2, 4, 8, 16, 16]
    assert [batch_rows(n, 12) for n in (9, 12, 20)] == [12, 12, 20]  # never below the count


def test_rematch_maps_tokens_to_exact_characters(vocab_path):
    tokenizer = load_tokenizer(vocab_path)
    text = "患者 CT示ABC123，血压120/80mmHg。"
    tokens = tokenizer.tokenize(text)
    mapping = tokenizer.rematch(text, tokens)
    pieces = ["".join(text[i] for i in m) for m in mapping if m]
    assert "".join(pieces).lower() == text.replace(" ", "").lower()


def test_rewritten_vocab_gets_a_fresh_tokenizer(tmp_path):
    import os

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n病\n", encoding="utf-8")
    first = load_tokenizer(vocab)
    assert load_tokenizer(vocab) is first
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n热\n病\n", encoding="utf-8")
    os.utime(vocab, ns=(1, 1))  # a different mtime even on coarse clocks
    assert load_tokenizer(vocab).token_to_id("病") == 6


def test_shuffled_batches_cover_every_item_once_per_epoch_and_repeat_with_the_seed():
    import numpy as np

    from etl.models.tokens import shuffled_batches

    lengths = [10, 100, 20, 300, 70, 5, 64]
    epoch = shuffled_batches(lengths, (64, 128, 256), 2, np.random.default_rng(3))
    assert sorted(i for _, rows in epoch for i in rows) == list(range(len(lengths)))
    for bucket, rows in epoch:
        assert all(bucket_length(lengths[i], (64, 128, 256)) == bucket for i in rows) and len(rows) <= 2
    assert epoch == shuffled_batches(lengths, (64, 128, 256), 2, np.random.default_rng(3))
