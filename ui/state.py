"""Session-state keys shared across pages.

Widget keys are per page (Streamlit drops a widget's state when its page is left), so
pickers copy the user's choice into these plain keys, which persist for the session.
Other pages may read them to start where the user left off.
"""

SPEC = "explorer.spec"  # str: zoo name, torchvision name, "file.py:Class", or ONNX_SPEC
SOURCE = "explorer.source"  # "zoo" | "torchvision" | "onnx" | "file"
ONNX_BYTES = "explorer.onnx_bytes"  # bytes of the uploaded .onnx file
ONNX_NAME = "explorer.onnx_name"  # its file name
GRANULARITY = "explorer.granularity"  # "unit" | "op" | "block"
DEPTH = "explorer.depth"  # int: module depth for the block view
SEED = "explorer.seed"  # int: model init / input seed
SELECTION = "explorer.selection"  # the PRUNE page's current selection (owned by PRUNE)

ONNX_SPEC = "onnx-upload"


def get(key: str, default=None):
    import streamlit as st

    return st.session_state.get(key, default)


def put(key: str, value) -> None:
    import streamlit as st

    st.session_state[key] = value
