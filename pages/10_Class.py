"""Class overview (a class server's teacher page): who runs what, queue places, and every student's
pruning and verdict side by side in one table to project (`ui.class_view`)."""

from ui.nav import through_navigation

through_navigation(__file__)

from ui.class_view import render
from ui.errors import guard

with guard("drawing the class overview"):
    render()
