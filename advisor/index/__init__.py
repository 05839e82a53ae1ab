"""Builds and where they live: the `BuildStore` readers use (an index folder, or a Chroma server shared by
app nodes), the current-build pointer and the single-writer lock or lease, the build itself, vector stores, BM25."""
