"""Op-level tracing: any `nn.Module` -> a DAG-DNN whose nodes are the tensors of its graph.

`trace(model, example_input)` tries, in order:

1. `torch.fx` symbolic tracing (node ids = fx node names, e.g. `layer1_0_conv1`, `add_3`);
2. `torch.export.export` (non-strict; nodes are aten ops, module paths from
   `nn_module_stack`) for models fx cannot trace, e.g. control flow on shapes;
3. a recording forward pass (`explorer.graph.record`): leaf modules and the torch
   functions between them, arcs by tensor identity; it follows the one path the example
   takes through data-dependent control flow.

When all three fail, `TraceError` names the op/module that failed and carries the
partial graph (`.partial`, a `Dag` or None).

Every node is a *data* tensor: one that depends on an input. Parameters, buffers
(`get_attr`), literals and sub-graphs computed from them alone (e.g. `torch.arange`,
a class token expanded to the batch) are folded into the arcs/nodes that consume
them (`node.meta["constants"]`, listed in `dag.meta["folded"]`). Shapes come from a
meta-tensor pass (`explorer.graph.shapes`), so no real forward is paid.

    >>> from torch import nn
    >>> dag = trace(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), torch.zeros(1, 4))
    >>> [(n.id, n.op, n.shape, dag.level[n.id]) for n in dag.nodes]
    [('input_1', 'input', (4,), 0), ('_0', 'linear', (3,), 1), ('_1', 'relu', (3,), 2), ('output', 'output', (3,), 3)]
    >>> [(a.src, a.dst, a.label, a.kind) for a in dag.arcs]
    [('input_1', '_0', 'linear 4→3', 'linear'), ('_0', '_1', 'relu', 'nonlinear'), ('_1', 'output', 'id', 'identity')]
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch import fx, nn

from explorer.concurrency import exclusive, stage
from explorer.graph.checks import graph_warnings
from explorer.graph.dag import Dag
from explorer.graph.diagnostics import TraceError, one_line, user_frame
from explorer.graph.fx_dag import dag_from_graph
from explorer.graph.mutation import describe, first_mutation
from explorer.graph.shapes import ShapeError, batch_layout, propagate


# ---------------------------------------------------------------------------------------
# tracers
# ---------------------------------------------------------------------------------------


def _torchvision_leaves() -> tuple[type, ...]:
    """torchvision.ops modules fx should not enter (as `torchvision.models.feature_extraction` does),
    except the containers (Conv2dNormActivation, MLP, SqueezeExcitation) whose parts we want to see."""
    try:
        import torchvision.ops as tvops
    except ImportError:  # pragma: no cover - torchvision is a requirement
        return ()
    keep_open = (nn.Sequential, tvops.SqueezeExcitation)
    return tuple(c for c in vars(tvops).values()
                 if isinstance(c, type) and issubclass(c, nn.Module) and not issubclass(c, keep_open))


class _Tracer(fx.Tracer):
    """fx tracer that remembers the innermost module being traced when something fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_in: str | None = None
        self._leaves = _torchvision_leaves()
        self.record_stack_traces = True  # nodes name the user's line (in-place writes, errors)

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = self.path_of_module(m) + f" ({type(m).__name__})"
            raise


def _fx_graph(model: nn.Module) -> fx.GraphModule:
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as e:
        where = f" in module {tracer.failed_in}" if tracer.failed_in else ""
        line = user_frame(e)
        raise _Failed(f"fx{where}{' at ' + line if line else ''}: {one_line(e)}") from e
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    bad = first_mutation(gm)
    if bad is not None:
        raise _Failed(f"fx: {describe(bad)} writes in place into a tensor other ops read (the graph would show them "
                      "reading the value from before the write); traced functionally instead")
    return gm


def _export_graph(model: nn.Module, args: tuple) -> fx.GraphModule:
    quiet = [logging.getLogger(n) for n in ("torch.fx.experimental.symbolic_shapes", "torch._dynamo",
                                             "torch.export", "torch._export")]
    for lg in quiet:
        lg.addFilter(_drop)  # export logs whole graphs when it gives up; we report one line
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # export prints the partial graph on failure
            ep = torch.export.export(_structural_copy(model), args, strict=False)
        if first_mutation(ep.module()) is not None:
            ep = ep.run_decompositions()  # core ATen IR is functional: in-place writes become *_scatter ops
    except Exception as e:
        line = user_frame(e)
        msg = one_line(e)
        if "in output, which is not a known type" in msg:
            msg += (" — the model returns an object that holds more than tensors (e.g. a key/value cache); "
                    "return tensors only (Hugging Face: use_cache=False)")
        raise _Failed(f"export{' at ' + line if line else ''}: {msg}") from e
    finally:
        for lg in quiet:
            lg.removeFilter(_drop)
    return ep.module()


def _structural_copy(model: nn.Module) -> nn.Module:
    """A copy of `model`'s modules that holds the very same parameter and buffer tensors (no memory).
    Non-strict export swaps the parameters of the module it traces for fake tensors while it runs; on a
    copy, another thread running the shared model meanwhile still sees the real ones. A model that
    cannot be copied is exported as it is."""
    same = {id(t): t for m in model.modules() for t in (*m._parameters.values(), *m._buffers.values(),
                                                          *(v for v in vars(m).values() if isinstance(v, torch.Tensor)))
            if t is not None}
    try:
        return copy.deepcopy(model, memo=same)
    except Exception:  # noqa: BLE001 - e.g. a lock or a generator on the model: export the model itself
        return model


def _drop(record: logging.LogRecord) -> bool:
    return False


class _Failed(Exception):
    """One tracer's failure, as one line."""


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode for the duration, then restore each one's flag."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, f in flags:
            m.training = f


def _values(gm: fx.GraphModule, args: tuple) -> tuple[dict[fx.Node, Any], dict[fx.Node, Any] | None]:
    """Each node's value at the example (meta tensors where every op has a meta kernel, else one
    real forward) and where its batch dimension is (None: the graph runs at one batch size only)."""
    try:
        values = propagate(gm, args)
    except ShapeError:
        return propagate(gm, args, real=True), None  # ops without meta kernels: pay one real forward
    return values, batch_layout(gm, args, values)


def trace(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...], name: str = "") -> Dag:
    """The op-level DAG-DNN of `model` (in eval mode) at `example_input` (with batch dim).

    `dag.meta["example_input"]` is `example_input`; `dag.meta["graph_module"]` is the traced GraphModule (node names = node ids; None
    for the recording fallback; it shares submodules with `model`, so copy before
    rewriting), `dag.meta["tracer"]` says which tracer succeeded. The model's
    training flags are restored afterwards. Raises `TraceError` when nothing works.
    """
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    name = name or type(model).__name__
    attempts: list[str] = []
    types = {path: type(m).__name__ for path, m in model.named_modules()}  # GraphModules lose the classes
    with exclusive(), eval_mode(model):
        for tracer in ("fx", "export"):
            stage(f"tracing with torch.{tracer}" + (f" (torch.fx could not: {attempts[0][:120]})" if attempts else ""))
            try:
                gm = _fx_graph(model) if tracer == "fx" else _export_graph(model, args)
                if tracer == "fx":
                    gm.eval()
                values, layout = _values(gm, args)
                dag = dag_from_graph(gm, values, name, tracer, layout)
                dag.meta.update(module_types=types, example_input=example_input)
                check_output(dag, name)
                dag.meta["warnings"] = graph_warnings(dag)
                return dag
            except TraceError:
                raise  # the graph traced, and it is not a model's graph (check_output): no other tracer helps
            except _Failed as e:
                attempts.append(str(e))
            except (ShapeError, ValueError) as e:
                attempts.append(f"{tracer}: {one_line(e)}")
        from explorer.graph.record import record_dag  # noqa: PLC0415 - the last resort
        stage("recording one forward pass (torch.fx and torch.export could not trace it)")
        try:
            dag = record_dag(model, args, name)
            dag.meta.update(module_types=types, example_input=example_input)
            dag.meta["warnings"] = graph_warnings(dag)
            return dag
        except TraceError as e:
            if e.partial is None:  # the recording ran and was refused: that is the cause to report
                raise TraceError(f"{e} (fx and torch.export could not trace it either: "
                                 + "; ".join(attempts) + ")", None, tuple(attempts)) from e
            attempts.append(f"hooks: {e}")
            partial = e.partial
    raise TraceError(f"could not trace {name}: " + "; ".join(attempts)
                     + ". Make the failing code traceable (no control flow on tensor values), "
                       "or wrap it in a leaf module.", partial, tuple(attempts))


def check_output(dag: Dag, name: str) -> None:
    """Refuse a graph whose output holds no tensor computed from the input (a forward returning None,
    or constants only): there is nothing to draw, and drawing the inputs alone would lie."""
    out = [o for o in dag.outputs if dag.node(o).op == "output"]
    if out and not dag.in_arcs(out[0]):
        raise TraceError(f"{name}'s forward returns nothing computed from its input (None, or constants only); "
                         "return the tensor(s) the model computes")
