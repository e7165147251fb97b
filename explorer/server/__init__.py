"""The class server: one server a class opens in their browsers (`python -m explorer serve --classroom`).

- `settings` — where it listens, the join and teacher codes, the `streamlit run` command; whether this
  process serves a class (then uploaded code never runs: `explorer.models.user_store.refuse_user_code`);
- `identity` — a member's `Identity` and the signed token that carries it in their link;
- `roster`   — the class list: joining with a code and a display name, admitting a link's token.
"""
