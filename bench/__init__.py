"""Tidings benchmark suite: ``python -m bench [scenario ...] [--quick] [--out DIR]``."""
