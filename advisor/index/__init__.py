"""Builds and their layout: the current-build pointer and lock, the build itself, vector stores, BM25."""
