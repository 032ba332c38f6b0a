"""Pretrained encoders brought in from installed packages and written as Hugging Face checkpoints."""
