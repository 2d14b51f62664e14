"""Real models compile (issue 8): Hugging Face models from small configs with
random weights, called the default way, and torch.nn building blocks, through
``fxc.compile`` and ``torch.compile(backend="fxc")``, match eager (fp32).

Configs turn the KV cache off (``use_cache=False``): a ``DynamicCache`` output
is not a pytree torch.export can flatten.
"""

import copy

import pytest
import torch
import torch._dynamo

import fxc
from fxc import dynamo
from fxc.testing.models import BasicBlock, InvertedResidual, randomize_batch_norms

transformers = pytest.importorskip("transformers")

VOCAB, SEQ, HIDDEN = 100, 8, 32
_DECODER = dict(
    vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
    num_key_value_heads=1, intermediate_size=64, max_position_embeddings=16, use_cache=False,
    bos_token_id=0, eos_token_id=1, pad_token_id=0,
)


def _ids():
    return (torch.randint(0, VOCAB, (1, SEQ)),)


def gpt2():
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=16, n_embd=HIDDEN, n_layer=2, n_head=2,
                                  use_cache=False, bos_token_id=0, eos_token_id=1)
    return transformers.GPT2LMHeadModel(cfg), _ids()


def bert():
    cfg = transformers.BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=16)
    return transformers.BertModel(cfg), _ids()


def llama():
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**_DECODER)), _ids()


def qwen2():
    return transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**_DECODER)), _ids()


def vit():
    cfg = transformers.ViTConfig(image_size=16, patch_size=8, hidden_size=HIDDEN, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64)
    return transformers.ViTModel(cfg), (torch.randn(1, 3, 16, 16),)


class SelfAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(HIDDEN, 2, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x)


def multihead_attention():
    return SelfAttention(), (torch.randn(2, SEQ, HIDDEN),)


def transformer_encoder_layer():
    return torch.nn.TransformerEncoderLayer(HIDDEN, 2, 64, batch_first=True), (torch.randn(2, SEQ, HIDDEN),)


def resnet_basic_block():
    return randomize_batch_norms(BasicBlock()), (torch.randn(2, 8, 8, 8),)


def mobilenet_block():
    return randomize_batch_norms(InvertedResidual()), (torch.randn(2, 8, 12, 12),)


MODELS = [gpt2, bert, llama, qwen2, vit, multihead_attention, transformer_encoder_layer, resnet_basic_block,
          mobilenet_block]


def _tensors(out):
    """The tensors of a model's output, in order (ModelOutput, tuple, tensor)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, transformers.utils.ModelOutput):
        return [v for v in out.to_tuple()]
    return [t for t in out if t is not None]


def _assert_close(actual, expected):
    assert type(actual) is type(expected)
    a, e = _tensors(actual), _tensors(expected)
    assert len(a) == len(e)
    for x, y in zip(a, e):
        torch.testing.assert_close(x.detach(), y.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_fxc_compile_matches_eager(make):
    model, inputs = make()
    model.eval()
    with torch.no_grad():
        expected = model(*inputs)
        actual = fxc.compile(model, inputs)(*inputs)
    _assert_close(actual, expected)


@pytest.mark.parametrize("make", [resnet_basic_block, mobilenet_block, vit, gpt2], ids=lambda f: f.__name__)
def test_fxc_compile_frozen_matches_eager(make):
    """freeze=True: weights are constants (eval BatchNorm folds into the
    convolutions, int8/bf16 weights would be packed once)."""
    model, inputs = make()
    model.eval()
    with torch.no_grad():
        expected = model(*inputs)
        actual = fxc.compile(model, inputs, freeze=True)(*inputs)
    _assert_close(actual, expected)


@pytest.mark.parametrize("make", [gpt2, llama], ids=lambda f: f.__name__)
def test_triton_matches_eager(make):
    """Decoders through target="triton" (Triton's interpreter on CPU tensors),
    one compile with a dynamic sequence length, run at three lengths."""
    pytest.importorskip("triton")
    model, inputs = make()
    model.eval()
    with torch.no_grad():
        compiled = fxc.compile(model, inputs, target="triton",
                               dynamic_shapes={"input_ids": {1: torch.export.Dim("seq", min=2, max=16)}})
        for n in (2, SEQ, 13):
            ids = torch.randint(0, VOCAB, (1, n))
            _assert_close(compiled(ids), model(ids))


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_torch_compile_matches_eager(make):
    model, inputs = make()
    model.eval()
    torch._dynamo.reset()
    before = dict(dynamo.compiled_graphs)
    try:
        with torch.no_grad():
            expected = model(*inputs)
            actual = torch.compile(model, backend="fxc", options={"fallback": "error"})(*inputs)
    finally:
        torch._dynamo.reset()
    new = {k: v - before.get(k, 0) for k, v in dynamo.compiled_graphs.items() if v != before.get(k, 0)}
    assert new and not [k for k in new if "eager" in k], new
    _assert_close(actual, expected)


@pytest.mark.parametrize("make", [gpt2, llama, vit, bert], ids=lambda f: f.__name__)
def test_torch_compile_training_gradients(make):
    """Forward and backward graphs both through fxc (eval mode: no dropout,
    gradients on): every parameter's gradient matches eager's.  Attention's
    saved logsumexp and its backward go through fxc's own decompositions."""
    model, inputs = make()
    model.eval()
    twin = copy.deepcopy(model)
    torch._dynamo.reset()
    try:
        out = torch.compile(model, backend="fxc", options={"fallback": "error"})(*inputs)
        _tensors(out)[0].sum().backward()
    finally:
        torch._dynamo.reset()
    _tensors(twin(*inputs))[0].sum().backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        if q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)
