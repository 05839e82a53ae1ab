"""Extras for developers: the benchmark and corpus authoring."""
