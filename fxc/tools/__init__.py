"""Command-line tools: ``fxc`` and ``fxc-opt``."""
