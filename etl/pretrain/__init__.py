"""Masked-language-model pretraining of the small encoders on the shared medical text (issue 8)."""
