"""Shared helpers for the Streamlit pages: model picker, cached builders, error display,
session-state keys. The only Streamlit code outside `app.py` and `pages/`; the library
`explorer/` never imports Streamlit.

- `ui.state`  — session-state keys shared by pages (the chosen model, one `explorer.models.key.ModelKey`,
  survives page switches)
- `ui.errors` — `guard()`: library errors become `st.error(...)`, never a traceback
- `ui.cache`  — `st.cache_resource` builders keyed by the model key (spec, granularity, depth, seed)
- `ui.picker` — `model_picker()`, `granularity_controls()`
- `ui.lottery_forms`, `ui.lottery_view`, `ui.lottery_ticket` — the Lottery page's settings (built from the
  experiment configs), live charts and tables, and ticket view
- `ui.spec_form` — a config setting (`explorer.config.forms.Widget`) drawn as its Streamlit widget
"""
