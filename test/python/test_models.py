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


class BasicBlock(torch.nn.Module):
    """ResNet's basic block (torchvision's, without torchvision)."""

    def __init__(self, c=8):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)
        for bn in (self.bn1, self.bn2):  # non-trivial running statistics
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)


def resnet_basic_block():
    return BasicBlock(), (torch.randn(2, 8, 8, 8),)


class InvertedResidual(torch.nn.Module):
    """MobileNetV2's block (torchvision's, without torchvision): 1x1 expand,
    3x3 depthwise, 1x1 project, each with BatchNorm; ReLU6; a residual."""

    def __init__(self, c=8, expand=4):
        super().__init__()
        h = c * expand

        def conv_bn(cin, cout, k, groups=1, act=True):
            layers = [torch.nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
                      torch.nn.BatchNorm2d(cout)]
            return layers + [torch.nn.ReLU6()] if act else layers

        self.body = torch.nn.Sequential(*conv_bn(c, h, 1), *conv_bn(h, h, 3, groups=h), *conv_bn(h, c, 1, act=False))
        for m in self.body:
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.5, 0.5)
        self.head = torch.nn.Linear(c, 10)

    def forward(self, x):
        y = self.body(x) + x
        return self.head(torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


def mobilenet_block():
    return InvertedResidual(), (torch.randn(2, 8, 12, 12),)


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
