"""From a file to chunks: loaders per format, the sandboxed reader, chunking, and the instruction filter."""
