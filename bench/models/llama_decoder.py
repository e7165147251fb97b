"""Llama-architecture decoders from `transformers`, built offline at a small width (random init, seeded; nothing
downloaded): the test models of hierarchical browsing (README, Browsing) and of the overlay benchmark.

`Llama(layers, hidden, ...)` is the one definition; the classes below fix its depth and width so that a user-file
spec can name them (`bench/models/llama_decoder.py:Llama128`; the explorer builds a user class with no arguments):

| class           | layers | hidden | heads (kv) | vocabulary | input           | used by                                     |
|-----------------|--------|--------|------------|------------|-----------------|---------------------------------------------|
| `Llama4`        | 4      | 64     | 4 (4)      | 128        | 1 × 16 token ids | quick checks                                |
| `Llama32`       | 32     | 64     | 4 (4)      | 128        | 1 × 16 token ids | tests/test_hierarchy.py, tests/test_app_tree.py |
| `Llama128`      | 128    | 64     | 4 (4)      | 128        | 1 × 16 token ids | tests/browser/test_tree_browser.py, bench/bench_browse.py |
| `Llama32Narrow` | 32     | 32     | 2 (1)      | 100        | 1 × 12 token ids | bench/bench_overlays.py (1,837 op nodes)     |
"""

import torch
import transformers as T

T.logging.set_verbosity_error()


class Llama(T.LlamaForCausalLM):
    """`LlamaForCausalLM` with `layers` decoder layers at width `hidden` (MLP 2 × hidden, `heads` attention heads
    sharing `kv_heads` key/value heads), `vocab` token ids, input one sequence of `seq` ids; forward: ids -> logits.
    A subclass sets the defaults as class attributes; an argument overrides its attribute."""

    layers, hidden, heads, kv_heads, vocab, seq, tied = 2, 64, 4, 4, 128, 16, False

    def __init__(self, layers: int | None = None, hidden: int | None = None, heads: int | None = None,
                 kv_heads: int | None = None, vocab: int | None = None, seq: int | None = None,
                 tied: bool | None = None) -> None:
        given = dict(layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, vocab=vocab, seq=seq, tied=tied)
        p = {k: getattr(type(self), k) if v is None else v for k, v in given.items()}
        torch.manual_seed(0)
        super().__init__(T.LlamaConfig(vocab_size=p["vocab"], hidden_size=p["hidden"],
                                       intermediate_size=2 * p["hidden"], num_hidden_layers=p["layers"],
                                       num_attention_heads=p["heads"], num_key_value_heads=p["kv_heads"],
                                       max_position_embeddings=64, use_cache=False, bos_token_id=0, eos_token_id=0,
                                       tie_word_embeddings=p["tied"]))
        self.layers, self.hidden, self.vocab, self.seq = p["layers"], p["hidden"], p["vocab"], p["seq"]
        self.eval()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(input_ids=ids).logits

    def example_input(self) -> torch.Tensor:
        return torch.randint(0, self.vocab, (1, self.seq), generator=torch.Generator().manual_seed(0))


class Llama4(Llama):
    layers = 4


class Llama32(Llama):
    layers = 32


class Llama128(Llama):
    layers = 128


class Llama32Narrow(Llama):
    """The ~1,900-node op graph of issue 20 (bench/bench_overlays.py): 32 layers at width 32, grouped-query
    attention (2 heads, 1 key/value head), tied input and output embeddings."""

    layers, hidden, heads, kv_heads, vocab, seq, tied = 32, 32, 2, 1, 100, 12, True
