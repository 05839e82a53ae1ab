"""Text to vectors: the packaged models, the embedding cache, weight conversion, the ONNX query runtime."""
