"""A Prune selection in a link: `z<base64url of zlib'd JSON>` inline while it stays short, else
`h<12 hex>` naming a file under `paths.links()` that holds the selection's JSON (`Selection.to_json`),
written once, content-addressed, so the same selection always gets the same link.

    >>> from explorer.pruning.selection import Selection
    >>> sel = Selection("op", ("relu1",), ("conv1->bn1",), "resnet_tiny")
    >>> raw = encode_selection(sel)
    >>> raw[0], decode_selection(raw) == sel
    ('z', True)

A hashed link only opens on the machine (data folder) that made it: the file is not in the URL.
Decoding never unpickles anything: the payload is JSON, read by `Selection.from_json`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import zlib
from pathlib import Path

from explorer import paths
from explorer.links.codec import MAX_VALUE_CHARS
from explorer.pruning.selection import Selection, SelectionError

INLINE_MAX = MAX_VALUE_CHARS - 20  # characters of an inline selection; a longer one goes by hash
_DEFLATE_MAX_RATIO = 1032  # deflate never shrinks data more than this (RFC 1951's longest match per code)
_MAX_INFLATED = 4 << 20  # bytes a decompressed selection may take (a zip bomb in a URL stops here)


def _compact(sel: Selection) -> bytes:
    doc = sel.to_json()
    doc.pop("note", None)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def encode_selection(sel: Selection, root: str | Path | None = None) -> str:
    """The link value of `sel` (module doc); a long one is stored under `paths.links(root)`."""
    raw = _compact(sel)
    if len(raw) <= _DEFLATE_MAX_RATIO * INLINE_MAX * 3 // 4:  # longer never fits: spare compressing megabytes
        inline = "z" + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")
        if len(inline) <= INLINE_MAX:
            return inline
    digest = hashlib.sha256(raw).hexdigest()[:12]
    folder = paths.ensure_dir(paths.links(root))
    path = folder / f"{digest}.json"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(raw)
        os.replace(tmp, path)  # atomic: a reader sees the whole file or none
    return "h" + digest


def decode_selection(value: str, root: str | Path | None = None) -> Selection:
    """The selection a link value names; SelectionError saying why not (damaged, unknown hash, too big)."""
    value = str(value).strip()
    if value.startswith("z"):
        pad = "=" * (-len(value[1:]) % 4)
        try:
            packed = base64.urlsafe_b64decode(value[1:] + pad)
            d = zlib.decompressobj()
            raw = d.decompress(packed, _MAX_INFLATED)
            if d.unconsumed_tail:
                raise SelectionError(f"the link's selection inflates past {_MAX_INFLATED >> 20} MB; it is not one "
                                     "the explorer made")
        except (binascii.Error, zlib.error, ValueError) as e:
            if isinstance(e, SelectionError):
                raise
            raise SelectionError("the link's selection is damaged (cut short when the link was copied?); "
                                 "make the selection again or ask for the whole link") from None
        return Selection.from_json(raw)
    if value.startswith("h"):
        digest = value[1:]
        if len(digest) != 12 or any(c not in "0123456789abcdef" for c in digest):
            raise SelectionError(f"the link's selection id {value!r} is not one the explorer made")
        path = paths.links(root) / f"{digest}.json"
        if not path.is_file():
            raise SelectionError(f"the link names a stored selection ({digest}) this machine does not have: "
                                 "long selections are kept in the data folder of the machine that made the "
                                 "link; open it there, or save the selection as a file on the Prune page")
        return Selection.from_json(path.read_bytes())
    raise SelectionError(f"the link's selection {value[:20]!r} is neither inline (z...) nor stored (h...)")
