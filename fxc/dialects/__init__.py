"""Dialects fxc defines (IRDL) and the Python builders for their ops."""
