"""What a traced graph does not show, said plainly: the warnings the pages and the CLI print
beside every graph (`dag.meta["warnings"]`, and `"warnings"` in `levels --json`).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("y", "linear", params=4)], [Arc("x", "y")], "op",
    ...                 meta={"unused_params": 6, "tracer": "fx"})
    >>> graph_warnings(dag)
    ["the graph covers 4 of the model's 10 parameters: 6 are not used on the example input (a branch it does not take, or layers the forward never calls)"]
"""

from __future__ import annotations

from explorer.graph.dag import Dag


def graph_warnings(dag: Dag) -> list[str]:
    """Plain sentences on what `dag` leaves out or cannot do (empty when it is the whole model)."""
    out = []
    unused = int(dag.meta.get("unused_params") or 0)
    if unused:
        used = sum(n.params for n in dag.nodes)
        out.append(f"the graph covers {used:,} of the model's {used + unused:,} parameters: {unused:,} are not used "
                   "on the example input (a branch it does not take, or layers the forward never calls)")
    if dag.meta.get("tracer") == "hooks":
        out.append("recorded from one real forward pass (torch.fx and torch.export could not trace the model): it "
                   "can be drawn, but not evaluated, verified or pruned at op level")
    if dag.meta.get("tracer") == "export" and dag.meta.get("batch_layout") == "assumed":
        out.append(f"traced by torch.export for batch size {dag.meta.get('batch_size', '?')} only: shapes and checks "
                   "use that batch size")
    merged = [n.id for n in dag.nodes if "merged" in str(n.meta.get("batch", ""))]
    if merged:
        out.append(f"{len(merged)} node(s) hold the batch merged with another dimension (e.g. {merged[0]}): their "
                   "shapes include the batch")
    return out
