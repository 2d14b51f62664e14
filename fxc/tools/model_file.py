"""Loading ``MODEL`` arguments of the ``fxc`` command.

``MODEL`` is ``path/to/file.py[:Name]``.  The file is run as a module and
must define:

* ``Name`` (default: ``Model``): an ``nn.Module`` subclass (built with no
  arguments), an ``nn.Module`` instance, or a function of no arguments that
  returns one;
* example inputs: ``Name.example_inputs()`` if ``Name`` has it, else a
  module-level ``example_inputs()``.  It returns a tuple of positional
  arguments, or a ``(args, kwargs)`` pair whose second item is a dict;
* optionally ``dynamic_shapes()`` (on ``Name`` or module-level): the
  symbolic sizes, as ``torch.export.export`` takes them (``Dim(...)``).

With no ``MODEL``, the bundled example ``examples/quantized_mlp.py`` is used.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import torch

DEFAULT_NAME = "Model"
BUNDLED = Path(__file__).resolve().parents[2] / "examples" / "quantized_mlp.py"


class ModelFileError(Exception):
    pass


def load_model(spec: str | None):
    """Returns ``(name, module, args, kwargs, dynamic_shapes)`` for a MODEL argument."""
    spec = spec or str(BUNDLED)
    path, _, name = spec.partition(":")
    name = name or DEFAULT_NAME
    file = Path(path)
    if not file.is_file():
        raise ModelFileError(f"{path}: no such file")
    if file.suffix != ".py":
        raise ModelFileError(f"{path}: MODEL is a Python file, FILE.py[:Name] (to run a saved artifact: "
                             f"fxc run MODEL --artifact {path})")
    mod_name = f"fxc_user_model_{abs(hash(str(file.resolve())))}"
    loader = importlib.machinery.SourceFileLoader(mod_name, str(file))
    loader_spec = importlib.util.spec_from_loader(mod_name, loader)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    loader_spec.loader.exec_module(module)
    if not hasattr(module, name):
        raise ModelFileError(f"{path}: defines no '{name}' (MODEL is FILE.py[:Name])")
    obj = getattr(module, name)
    inputs_fn = getattr(obj, "example_inputs", None) or getattr(module, "example_inputs", None)
    if inputs_fn is None:
        raise ModelFileError(f"{path}: defines no example_inputs() (module level or on {name})")
    if isinstance(obj, torch.nn.Module):
        model = obj
    elif isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        model = obj()
    elif callable(obj):
        model = obj()
    else:
        raise ModelFileError(f"{path}: '{name}' is not an nn.Module, a subclass of it, or a factory")
    inputs = inputs_fn()
    if isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], dict) and isinstance(inputs[0], tuple):
        args, kwargs = inputs
    else:
        args, kwargs = tuple(inputs), {}
    shapes_fn = getattr(obj, "dynamic_shapes", None) or getattr(module, "dynamic_shapes", None)
    return f"{file.stem}.{name}", model, args, kwargs, shapes_fn() if callable(shapes_fn) else None
