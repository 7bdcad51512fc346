"""Shared kernel of qgov: the error tree, the canonical encoding and bounded chunks.

Everything else in the distribution depends on this package; it depends on nothing
of ours. The application lives in ``governance``, the cores in ``policies``,
``lineage`` and ``storage``, the orchestration in ``flows``.
"""

__version__ = "0.1.0"
