"""Prefect flows that orchestrate qgov's services (ingest first; more follow)."""
