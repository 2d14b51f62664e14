"""Capture takes torch.nn's inference fast paths where eager takes them.

``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` in eval mode
under ``no_grad`` run fused ATen ops in eager
(``aten._native_multi_head_attention``, ``aten._transformer_encoder_layer_fwd``),
but their Python checks refuse those ops while ``torch.export`` traces:
export's own torch-function mode makes ``torch.overrides.has_torch_function``
true for every tensor, and ``_is_make_fx_tracing()`` is true.  In float32
both paths compute the same numbers; under autocast they do not: the fused
kernels call the policy ops through the dispatcher, so eager's
``TransformerEncoderLayer`` returns bfloat16 where its Python path returns
float32 (its last ``layer_norm`` adds a float32 residual).  Capture must see
what eager runs, so :func:`eager_checks` answers those two checks, for
those modules' ``forward`` only, as they answer in eager: a tensor has a
torch function when its type defines one (not because export's mode is
active), and no make_fx tracing is running.  ``fxc.frontend.decompose``
expands both fused ops; ``fxc.frontend.autocast`` expands them inside
autocast regions as eager's autocast runs them.

The answer follows the grad mode of the capture, as eager's follows the
call's: a module compiled with grad enabled (its weights requiring grad) is
captured on its Python path.  The two functions are patched for the length
of one export (captures are serialized by ``capture``'s lock); another
thread running these modules meanwhile gets the same eager answers, except
that its own torch-function modes are not seen.
"""

from __future__ import annotations

import contextlib
import sys

import torch
import torch.nn.modules.activation as _activation

#: The modules whose ``forward`` chooses a fast path.
_CHOOSERS = frozenset({"torch.nn.modules.activation", "torch.nn.modules.transformer"})
_DISABLED = torch._C._disabled_torch_function_impl


def _defines_torch_function(value) -> bool:
    impl = getattr(type(value), "__torch_function__", _DISABLED)
    return type(value) is not torch.Tensor and getattr(impl, "__func__", impl) is not _DISABLED


@contextlib.contextmanager
def eager_checks():
    """Within: the fast-path checks of ``_CHOOSERS`` answer as in eager."""
    has_torch_function = torch.overrides.has_torch_function
    is_tracing = _activation._is_make_fx_tracing

    def eager_has_torch_function(args):
        if sys._getframe(1).f_globals.get("__name__") not in _CHOOSERS:
            return has_torch_function(args)
        return any(_defines_torch_function(a) for a in args)

    torch.overrides.has_torch_function = eager_has_torch_function
    _activation._is_make_fx_tracing = lambda: False
    try:
        yield
    finally:
        torch.overrides.has_torch_function = has_torch_function
        _activation._is_make_fx_tracing = is_tracing
