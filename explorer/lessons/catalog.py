"""The eight lessons: a path through the explorer for a class, from a network drawn as a DAG-DNN to
iterative magnitude pruning (docs/science.md §1–§7). Every step opens a page in the state it talks
about; the facts its answers state about a zoo model (levels, which selections are valid) are checked
by `explorer.lessons.check` and tests/test_lessons.py against the graphs themselves.

    >>> [l.number for l in LESSONS], lesson("dag").title
    ([1, 2, 3, 4, 5, 6, 7, 8], 'A network as a DAG-DNN')
"""

from __future__ import annotations

from explorer.lessons.model import Figure, Lesson, LessonError, Link, Step
from explorer.lessons.results import group
from explorer.lessons.selections import BRANCH, NODE, SKIP_ARC

L = Link.to
SHIPPED_GROUP = group("lottery.sweep", 1)  # the shipped sweep's 50%-sparse round (explorer.lessons.results)

DAG = Lesson(1, "dag", "A network as a DAG-DNN", "Nodes, arcs that carry functions, levels as longest paths.", (
    Step("Nodes and arcs",
         "A network is a directed acyclic graph: every node adds what arrives on its in-arcs and applies its "
         "activation, every arc carries a function — a weight, a kernel, a convolution. At the *op* granularity "
         "a node is one traced tensor operation of the PyTorch model.",
         "§1", L("Architecture", model="mlp", g="op"),
         "Hover the nodes: each shows its op, module, shape and parameter count; hover an arc's diamond too. Then "
         "type `relu` into *Search nodes*: the two activation nodes and their neighbours stand out.",
         "The MLP `40 → 100 → 100 → 10` has three Linear layers. Why does its op graph have more than four nodes?",
         "Every op is a node: the input, each Linear, each ReLU and the output node. A Linear layer's function "
         "sits on the arc into it; the ReLU is a node of its own because at op level it is its own op.",
         Figure("dag", "mlp", "op")),
    Step("Levels are longest paths",
         "The **level** of a node is the number of arcs on the *longest* path from an input to it. So every arc "
         "climbs to a strictly higher level, and an arc that spans more than one level is a **skip arc** (orange). "
         "In `mlp_skip` at the op level, the first layer's activations `relu` (level 2) also reach the residual "
         "`add` (level 6) and the concatenation `cat` (level 8) directly.",
         "§1", L("Architecture", model="mlp_skip", g="op", q="cat"),
         "*Search nodes* holds `cat`: it and its neighbours stand out, among them `relu`, six levels to its left. "
         "Search `add` next: the residual's other input is `relu` too.",
         "`relu → cat` is a single arc. Why is `cat` at level 8 and not at level 3?",
         "Its level is set by its longest path, x → fc1 → relu → fc2 → relu_1 → fc3 → add → relu_2 → cat: eight "
         "arcs. A short path never pulls a node down — that is what makes every arc point to a higher level.",
         Figure("dag", "mlp_skip", "op", search="cat")),
    Step("A skip arc at op level",
         "In a ResNet the identity shortcut is an arc too: `stem_2 → add` carries the block's input past its "
         "residual branch (conv, batch norm, ReLU, conv, batch norm) straight into the `add` node.",
         "§1", L("Architecture", model="resnet_tiny", g="op", q="add"),
         "*Search nodes* holds `add`: the `add` nodes and their neighbours stand out. Clear it and search `bn`.",
         "How many levels does the arc `stem_2 → add` span in `resnet_tiny`, and what fills them?",
         "`stem_2` is at level 3 and `add` at level 9, so the arc spans 6 levels; the residual branch "
         "block1_conv1 … block1_bn2 fills levels 4 to 8.",
         Figure("dag", "resnet_tiny", "op", search="add")),
))

LIFTING = Lesson(2, "lifting", "Lifting steps", "Each T_l is unit lower-triangular; their product is the network.", (
    Step("T_l is unit lower-triangular",
         "Order the nodes by (level, index). The step that computes level *l* is a matrix T_l: the identity, "
         "except the rows of the level-*l* nodes (boxed), which hold the arc functions from lower levels and the "
         "bias in column 1. Everything above the diagonal is zero.",
         "§2", L("Decomposition", model="mlp_skip", g="unit", l=2),
         "Move the *level l* slider: the boxed band of rows moves down the diagonal, and only below-diagonal cells "
         "fill.",
         "Why is every diagonal entry of T_l equal to 1, even in the level-*l* rows?",
         "Before the step a level-*l* slot holds 0; the step adds Σ f_uv(x_u) to it. Adding to what is there "
         "is the identity on that slot plus the arcs: a 1 on the diagonal.",
         Figure("T", "mlp_skip", "unit", l=2)),
    Step("A skip arc is an entry far below the diagonal",
         "At level 4 of `mlp_skip` the output rows hold the weights from the level-3 neurons — and, through the "
         "skip arcs, from the level-1 neurons too: entries further from the diagonal, in the same unit "
         "lower-triangular matrix.",
         "§2", L("Decomposition", model="mlp_skip", g="unit", l=4),
         "Hover a cell in the boxed rows: it names its row (an `out` unit) and column (an `fc1` or `fc3` unit). Set "
         "*level l* to 3: the `fc3` rows read `fc2` and, through the residual add, `fc1`.",
         "Which columns of the level-4 rows of T_4 can be non-zero?",
         "The bias column and the columns of the nodes with an arc into level 4: the `fc3` units (through the "
         "ReLU) and the `fc1` units (the skip arcs). All other columns of those rows are 0.",
         Figure("T", "mlp_skip", "unit", l=4)),
    Step("The product is the network",
         "Composing the steps with the activations in between, z_L = Φ_L T_L ⋯ Φ_1 T_1 z_0, gives the network's "
         "output. The green badge is that check against PyTorch's own forward pass (and its Jacobian), to float "
         "tolerance.",
         "§2", L("Decomposition", model="resnet_tiny", g="op", l=9),
         "Change *Seed (init)* in the sidebar: a new random network, and the badge checks it again.",
         "Why does a unit lower-triangular step make removing an arc safe?",
         "Zeroing an entry below the diagonal leaves a unit lower-triangular matrix: still a lifting step, still "
         "invertible, and the product is still a network — the same one without that arc.",
         Figure("T", "resnet_tiny", "op", l=9, w=8)),
))

SUB = Lesson(3, "functions", "Functions of sub-architectures",
             "Any node, any sub-graph; entries of products as sums over paths.", (
    Step("Partial products",
         "The product T_l ⋯ T_1 maps the input state to every node up to level *l*. Without the activations, each "
         "entry is a **sum over paths** of products of arc weights: entry (v, u) adds, over every path from u to v, "
         "the product of the weights along it.",
         "§2", L("Decomposition", model="mlp", g="unit", l=2),
         "Compare the left heatmap (T_2 alone) with the right one (T_2 T_1): the product fills the input columns. "
         "Set *level l* to 3: the product reaches the output.",
         "In the plain `mlp`, what is the (linear part of the) entry of T_2 T_1 from input x[i] to a level-2 unit j?",
         "The sum over the paths x[i] → hidden.0[k] → j of w_ki · w_jk, that is (W₂W₁)_ji: a path of two arcs "
         "through each first-layer neuron k.",
         Figure("product", "mlp", "unit", l=2)),
    Step("Activation masks: the local affine map",
         "At a fixed input x each ReLU is either on or off: Φ_l acts as a diagonal 0/1 matrix D_l(x). The masked "
         "product M_L ⋯ M_1 with M_l = D_l(x) T_l is the network's affine map near x — its input block is the "
         "Jacobian at x.",
         "§2", L("Decomposition", model="mlp_skip", g="unit", l=4, masked=True),
         "Change the *input seed* in the sidebar: the masks change, and so does the product.",
         "Why does the masked product depend on the input while T_l does not?",
         "T_l holds only weights and biases. The masks D_l(x) record which units are active at x, and a different "
         "input switches different units on.",
         None),
    Step("Any sub-graph",
         "Zero the entries of the removed arcs (and the rows and columns of removed nodes) in every T_l: the same "
         "product then gives what the sub-architecture computes, at any node. The section *Function of a node on a "
         "sub-architecture* evaluates it for you.",
         "§2", L("Decomposition", model="mlp_skip", g="unit", l=4),
         "Scroll to the sub-architecture section, pick an output node in *value at node* and add the skip arcs to "
         "*remove arcs*: compare the values.",
         "If a sub-graph removes every in-arc of a hidden unit, what does that unit compute?",
         "Its pre-activation is only its bias, so it outputs φ(b) for every input — a constant — and passes only "
         "that constant on.",
         None),
))

PRUNING = Lesson(4, "pruning", "Structural pruning", "An arc, a node, a branch; what validity means; masked vs compacted.", (
    Step("An arc",
         "Removing an arc zeroes one entry of one T_l. Here the selection is the skip arc relu → cat of "
         "`mlp_skip` at op level: it carries the first layer's features past three layers into the concatenation "
         "that feeds the output layer, from level 2 to level 8 — an entry of T_8 far below the diagonal.",
         "§3", L("Prune", model="mlp_skip", g="op", sel=SKIP_ARC),
         "Read the verdict and the counts under the graph, then press *Prune* and compare the pruned network's "
         "output.",
         "`fc1[0] → fc3[0]` is a skip arc too, but the page refuses it with a mask. Why?",
         "That arc is an identity arc (the residual `add`): it has no weight to zero. Removing it means removing "
         "node fc1[0] itself, or pruning at the op level where the add's input is one arc.",
         None),
    Step("A node",
         "Removing a node zeroes its row and its column in every T_l: its in-arcs and out-arcs go with it. "
         "Here one neuron of the plain `mlp`'s second hidden layer: the units beside it keep the network valid.",
         "§3", L("Prune", model="mlp", g="unit", sel=NODE),
         "Look at the decomposition below the graph: the red-outlined entries are those the selection zeroes. "
         "Move *Level l of T_l* to find them in each step.",
         "What makes a selection **invalid**?",
         "An output that no longer depends on the input, or a surviving node left without inputs it can compute "
         "with — e.g. a joint head (a `mul`) losing only some of its inputs. The page refuses it and names why.",
         None),
    Step("A residual branch",
         "A whole branch can go: removing block 1's residual branch in `resnet_tiny` leaves add(x, 0) = x, the "
         "shortcut alone. Removing `stem_2` instead would cut every path to the output, and is refused.",
         "§3", L("Prune", model="resnet_tiny", g="op", sel=BRANCH),
         "Add `stem_2` in *Nodes and arcs* (the *Ids* tab of the tools): the verdict turns to \"Refused\" with "
         "the reason.",
         "Why may the `add` node lose its branch input but not both inputs?",
         "An additive head may lose some of its inputs — it then adds fewer terms. If it loses all of them it has "
         "nothing to compute with and the output would no longer depend on the input.",
         Figure("dag", "resnet_tiny", "op", search="block1")),
    Step("Masked and compacted",
         "A pruned network can stay **masked** — same tensors, the pruned entries held at zero while it trains — or "
         "be **compacted**: its emptied neurons and channels physically removed. The two must compute the same "
         "function; the result panel checks it and times both.",
         "§3", L("Prune", model="mlp", g="unit", crit="magnitude", target="units", sp=0.3),
         "Press *Propose* with the magnitude *Criterion*, then *Prune*: read the compacted size and the equality "
         "check.",
         "When does compaction make the network faster, and when does it not?",
         "When whole units or channels go, the tensors shrink and the work with them. Scattered single weights "
         "leave every tensor its shape: masked and compacted are then the same size.",
         None),
))

TICKET = Lesson(5, "ticket", "The weak lottery ticket", "Ticket vs reinit vs random mask; iterations to target.", (
    Step("A ticket and its controls",
         "A sub-network with its **original initialisation** is a winning ticket (weak form) when, trained with the "
         "same data order, it reaches the dense network's training accuracy in as many iterations or fewer. The "
         "controls: the same mask freshly re-initialised (reinit) and a random mask of the same size (random). The "
         "page opens on a finished one-shot sweep of the MNIST-1D notebook's MLP, shipped with the app.",
         "§4", L("Lottery", kind="sweep", model="lottery_mlp"),
         "Read the *Accuracy* chart from right to left (sparser): pruned once, the ticket keeps up with the random "
         "mask but beats it clearly only at 99%. Open *Settings* and press *Start* to compute it again as your own "
         "(about ten minutes on two quiet cores).",
         "Why must the ticket and the dense network see the same data order?",
         "The comparison is about the mask and the initial values: with the same data order any difference in "
         "iterations to target comes from them, not from luckier batches.",
         None),
    Step("Iterations to target",
         "For each run: the first step whose training accuracy reaches the target — by default 99% of the dense "
         "run's best — and its final train and test accuracy, over several seeds as mean and spread. Here the "
         "sweep's 50%-sparse tickets and their controls, against the dense runs of the same experiment.",
         "§4", L("Train", group=SHIPPED_GROUP),
         "Move the *Target* slider: the dashed line and every run's iterations to target move with it. Then pick "
         "the 90% round (its group ends in `-r3`) in *Comparison group*: there the ticket never reaches 99%.",
         "A ticket never reaches the target. What does the table show, and what does that mean?",
         "It shows no iteration count (not reached). At that sparsity the sub-network is not a weak ticket for this "
         "target — lower the sparsity or the target and compare again.",
         None),
))

SIGNAL = Lesson(6, "signal", "Signal propagation at init", "Orthogonal vs Gaussian spectra; pruning at init.", (
    Step("Isometry of a deep linear net",
         "A network passes signals faithfully at initialisation when its input–output Jacobian is close to an "
         "isometry: all singular values near 1. For a deep *linear* square network with orthogonal layers the "
         "Jacobian is a product of orthogonal matrices: every singular value is exactly 1.",
         "§5", L("Signal propagation", act="linear", depth_l=20),
         "Compare the two spectra: orthogonal is a spike at 1, Gaussian spreads over orders of magnitude. Change "
         "*Depth (weight matrices)* and watch the Gaussian spread follow it.",
         "Why does the Gaussian spectrum spread more as the network gets deeper?",
         "Each Gaussian layer is only an isometry on average; the product of many independent random matrices has "
         "singular values that multiply up and down, so the spread grows with depth.",
         None),
    Step("Pruning at initialisation",
         "SNIP scores each weight by the sensitivity of the loss to its mask on one batch, before any training, and "
         "keeps the top fraction. How reliable that is depends on how well signals propagate at initialisation; "
         "the approximate-isometry step then repairs the pruned layers without data.",
         "§5", L("Signal propagation", sp=0.9, crit="snip"),
         "Look at the spectra after pruning, then after the isometry steps: the singular values move back towards "
         "1. Raise *Sparsity* and compare again.",
         "Why may some singular values stay at 0 even after the isometry step?",
         "A sparse support need not admit any orthogonal matrix: two rows that share exactly one column can only "
         "be orthogonal if one of those two entries is 0, so the penalty has a floor above 0.",
         None),
))

SPLINES = Lesson(7, "splines", "Splines and linear regions", "Linear regions, unit boundaries, pruning, early-bird.", (
    Step("Linear regions",
         "A ReLU network is continuous and piecewise affine. Each unit's zero set is a line in the plane; "
         "together they cut it into **linear regions**, on each of which the network is one affine map. The "
         "Playground computes them exactly from the lifting, level by level.",
         "§6", L("Playground", dataset="circle", hidden="4,4"),
         "Press *Play* and watch the region count while it trains: boundaries move, and the decision boundary "
         "(black) bends at them. Paused, *Step* moves one frame at a time.",
         "Why is every linear region convex?",
         "On one region every unit's pre-activation is affine and has a fixed sign: the region is the intersection "
         "of half-planes, one per unit, which is convex.",
         None),
    Step("What pruning a unit does",
         "Pruning a unit removes its boundary: the regions on its two sides merge. Click a unit of the network "
         "drawing to prune it and the partition redraws without its line.",
         "§6", L("Playground", dataset="xor", hidden="6", activation="relu"),
         "Click a unit of the hidden layer in the network drawing to prune it, then another: count the regions "
         "after each. *Reset* starts again.",
         "What is the partition distance, and why does it settle early in training (the early bird)?",
         "The fraction of differing activation codes between two checkpoints on a fixed probe grid. The coarse "
         "arrangement of boundaries is found early; later training mostly fine-tunes the affine maps.",
         None),
))

IMP = Lesson(8, "imp", "Iterative magnitude pruning and its flow",
             "Prune, rewind, retrain; the per-layer density across rounds.", (
    Step("Rounds of IMP",
         "Train; prune the fraction *p* of the surviving weights with the smallest magnitude; rewind the survivors "
         "to their initial values (or to step *k*); retrain — for R rounds. After r rounds the sparsity is "
         "1 − (1 − p)^r. The page opens on five finished rounds, shipped with the app.",
         "§7", L("Lottery", kind="imp", model="lottery_mlp", rounds=5, rate=0.2, scope="global"),
         "Move the *Round* slider of the ticket view from 1 to 5: the first layer's surviving weights thin out "
         "round by round, and the *Accuracy* chart shows each round's ticket beside its reinit and random controls.",
         "What sparsity do 5 rounds at rate 0.2 reach?",
         "1 − 0.8⁵ ≈ 0.672: about 67% of the prunable weights are gone (up to the rounding of each round).",
         None),
    Step("The flow of per-layer density",
         "The IMP flow draws each layer's fraction of surviving weights across rounds. The whole network keeps "
         "shrinking, but the *relative* profile — each layer's density over the network's — settles: the flow "
         "converges towards a fixed structure.",
         "§7", L("Lottery", kind="imp", model="lottery_mlp", rounds=5, rate=0.2, scope="global"),
         "In the flow chart, under one global ranking the big hidden layer `fc2` loses weights fastest and the "
         "first layer `fc1` slowest. Set *Scope* to layer in *Settings* and press *Start* to compare (about ten "
         "minutes on two quiet cores).",
         "With global ranking, why do the layers not all keep the same density?",
         "One magnitude threshold for all tensors prunes most where weights are small — typically the big hidden "
         "layers — and least where they are large, so each layer follows its own density curve.",
         None),
))

LESSONS: tuple[Lesson, ...] = (DAG, LIFTING, SUB, PRUNING, TICKET, SIGNAL, SPLINES, IMP)


def lesson(slug: str) -> Lesson:
    """The lesson named `slug` (LessonError listing them otherwise)."""
    for les in LESSONS:
        if les.slug == slug:
            return les
    raise LessonError(f"no lesson {slug!r} (lessons: {', '.join(les.slug for les in LESSONS)})")
