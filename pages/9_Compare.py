"""Compare: two graphs side by side with their lifting diff (docs/science.md §2-§3)."""

from ui.nav import through_navigation

through_navigation(__file__)

from ui import compare_view
from ui.errors import guard
from ui.links import linked

with guard(), linked("cmp", compare_view.LINK, model=False):
    compare_view.render()
