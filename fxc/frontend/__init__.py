"""Capture (torch.export) and import (torch-mlir's FX importer, extended)."""
