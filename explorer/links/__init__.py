"""Shareable links: a view's state as URL query parameters, and back (docs/science.md has none of
this: it is the product's own format, owned here).

    doc = LinkDoc.parse({"v": "1", "model": "resnet_tiny", "g": "op", "l": "3"}, PAGE_PARAMS)
    doc.values["l"], doc.notices           # 3, []  (bad values become notices, never errors)
    query = encode(values, PAGE_PARAMS)     # {"v": "1", ...}: only what differs from the defaults

- `codec`     — the schema: `Param`, `parse`, `encode`, the model keys every page shares;
- `selection` — a Prune selection in a link: inline (compressed) or by hash under `paths.links()`.
"""

from explorer.links.codec import (MAX_URL_CHARS, MODEL_PARAMS, SCHEMA_VERSION, LinkDoc, Param, encode,
                                  url_length)
from explorer.links.selection import decode_selection, encode_selection

__all__ = ["MAX_URL_CHARS", "MODEL_PARAMS", "SCHEMA_VERSION", "LinkDoc", "Param", "encode", "url_length",
           "decode_selection", "encode_selection"]
