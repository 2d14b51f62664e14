"""Backends: one package each (``cpu``; later ``triton``, ``nvvm``), plugged
in through ``fxc.compiler.backend`` and the ``fxc.backends`` entry points.

A backend owns its passes (``passes/``), its stages, its kernels and its
runtime; nothing below this package imports one, and no backend imports
another.
"""
