"""Configs: `spec` — the `Spec` base every config derives from (fields declared once with a help,
choices and a default; checks, dict, id hash); `forms` — the command-line arguments and the plain
widget descriptions generated from a spec (the pages draw them; this package never imports Streamlit).
"""

from explorer.config.spec import Setting, Spec, SpecError, embed, setting

__all__ = ["Setting", "Spec", "SpecError", "embed", "setting"]
