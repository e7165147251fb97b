"""Models nobody here wrote, built small and offline (random init, no download), for the
any-model regression suite (`tests/test_any_model.py`, and `bench/any_model_table.py` for the
README table). Each entry says what the explorer must do with it: give a faithful graph that
verifies, or refuse with a reason (`refuse="..."`, a phrase the message must contain).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handwritten as H  # noqa: E402


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    build: Callable[[], tuple[torch.nn.Module, Any]]
    refuse: str = ""  # a refusal is expected, naming this


def _hf(kind: str) -> tuple[torch.nn.Module, Any]:
    import transformers as T

    T.logging.set_verbosity_error()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 100, (2, 16), generator=g)
    if kind == "bert":
        m = T.BertModel(T.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=64))
    elif kind == "gpt2":
        m = T.GPT2LMHeadModel(T.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                           use_cache=False, bos_token_id=0, eos_token_id=0))
    elif kind == "distilbert":
        m = T.DistilBertModel(T.DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                                 max_position_embeddings=64))
    elif kind == "t5":
        m = T.T5EncoderModel(T.T5Config(vocab_size=100, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2))
    else:  # vit
        m = T.ViTForImageClassification(T.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                                    num_attention_heads=2, intermediate_size=64, num_labels=10))
        return m.eval(), torch.randn(2, 3, 32, 32, generator=g)
    return m.eval(), ids


def _timm(name: str, size: int = 64) -> Callable[[], tuple[torch.nn.Module, Any]]:
    def build() -> tuple[torch.nn.Module, Any]:
        import timm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = timm.create_model(name, pretrained=False, num_classes=10)
        return m.eval(), torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    return build


def _tv(name: str) -> tuple[torch.nn.Module, Any]:
    from torchvision.models import detection, optical_flow, segmentation

    g = torch.Generator().manual_seed(0)
    if name == "fcn_resnet50":
        return segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=3).eval(), \
            torch.randn(1, 3, 64, 64, generator=g)
    if name == "lraspp_mobilenet_v3_large":
        return segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3).eval(), \
            torch.randn(1, 3, 64, 64, generator=g)
    if name == "raft_small":
        return optical_flow.raft_small(weights=None).eval(), \
            (torch.randn(1, 3, 128, 128, generator=g), torch.randn(1, 3, 128, 128, generator=g))
    m = detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3).eval()
    if name == "ssdlite_backbone":
        return m.backbone.eval(), torch.randn(1, 3, 320, 320, generator=g)
    return m, torch.randn(1, 3, 320, 320, generator=g)


def _hand(cls: type) -> Callable[[], tuple[torch.nn.Module, Any]]:
    def build() -> tuple[torch.nn.Module, Any]:
        torch.manual_seed(0)
        m = cls().eval()
        return m, (m.example_input() if hasattr(m, "example_input") else torch.randn(2, *m.input_shape))
    return build


CASES = [
    *[Case("transformers", k, lambda k=k: _hf(k)) for k in ("bert", "gpt2", "distilbert", "t5", "vit")],
    Case("timm", "resnet18", _timm("resnet18")),
    Case("timm", "efficientnet_b0", _timm("efficientnet_b0")),
    Case("timm", "mobilenetv3_small_050", _timm("mobilenetv3_small_050")),
    Case("timm", "convnext_atto", _timm("convnext_atto")),
    Case("timm", "vit_tiny_patch16_224", _timm("vit_tiny_patch16_224", 224)),
    Case("timm", "swin_tiny_patch4_window7_224", _timm("swin_tiny_patch4_window7_224", 224)),
    Case("torchvision", "fcn_resnet50", lambda: _tv("fcn_resnet50")),
    Case("torchvision", "lraspp_mobilenet_v3_large", lambda: _tv("lraspp_mobilenet_v3_large")),
    Case("torchvision", "raft_small", lambda: _tv("raft_small")),
    Case("torchvision", "ssdlite320_mobilenet_v3_large", lambda: _tv("ssdlite"), refuse="MODEL@backbone"),
    Case("torchvision", "ssdlite320 backbone", lambda: _tv("ssdlite_backbone")),
    *[Case("hand-written", c.__name__, _hand(c)) for c in (H.DictOut, H.NamedTupleOut, H.TupleIn, H.InplaceSlice,
                                                           H.SeqFirst)],
    Case("hand-written", "DataIf", _hand(H.DataIf), refuse="decides on the input's values"),
    Case("hand-written", "DataLoop", _hand(H.DataLoop), refuse="decides on the input's values"),
    Case("hand-written", "ReturnsNone", _hand(H.ReturnsNone), refuse="returns nothing computed from its input"),
]
