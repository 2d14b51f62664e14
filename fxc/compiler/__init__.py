"""The compiler core: stages, the open pass registry, the driver and the
backend interface.  It imports no transform, frontend or backend."""
