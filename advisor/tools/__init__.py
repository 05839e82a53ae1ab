"""Extras beside serving: the benchmark against the naive recipe, corpus authoring, the refusal
rule's calibration on a maintainer's own questions (`calibrate`, with its built-in off-topic
questions), and the transfer harness that measures how the advisor holds on sub-corpora
(`transfer`). The benchmark and authoring need the `bench` and `authoring` extras."""
