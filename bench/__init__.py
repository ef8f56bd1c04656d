"""The performance bench of issue 5: ``python -m bench`` (or ``make bench``).

Every figure is measured on real subprocesses of the real commands (``xfjy demo``, ``publish``,
``build-site``, ``serve``, ``import-donations``) against a fresh database per backend; see
``docs/performance.md``.
"""
