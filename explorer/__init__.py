"""DAG-DNN Explorer: networks as directed acyclic graphs, their lifting decomposition, pruning and retraining.

The package is plain Python (no Streamlit). Import submodules directly, e.g.
`from explorer.dag import Dag`, `from explorer import zoo`.
"""

__version__ = "0.1.0"
