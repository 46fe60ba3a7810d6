"""Premise retrieval: corpora in LeanDojo Benchmark 4 form, encoders, FAISS
indexes that honour accessibility, retriever training, BM25 and metrics.

Coq traces (data_synth) and LeanDojo's Lean benchmark share one on-disk schema,
so everything here serves both backends.
"""
