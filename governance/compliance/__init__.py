"""Compliance operations: anomaly detection over the provenance log, and incidents.

``activity`` turns log events into plain activity records; ``rules`` and ``isolation`` are
pure detectors over those records (no database, no clock: time is an argument), so the
benchmark (``benchmarks/anomaly.py``) runs exactly the code the product runs; ``anomaly``
and ``incidents`` are the services (authorised, transactional, every step an event).
"""
