"""DAG-DNN Explorer — `streamlit run app.py`.

Navigation only: Home is drawn by `ui.home`; each other page is a file in `pages/`,
listed only if the file exists so the app never breaks while pages are being built.
"""

from pathlib import Path

import streamlit as st

from explorer.runtime.device import use_threads
from explorer.server.settings import serving_class
from ui import classroom, join
from ui.jobs import backend_choice
from ui.nav import mark_navigation, pending_page
from ui.warmup import start as warm_up

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="DAG-DNN Explorer", page_icon=str(ROOT / "assets" / "icon.png"), layout="wide")
use_threads("interactive")  # the script thread shares the CPU with a training worker (explorer.runtime.device)
warm_up()  # torch & co. import in the background while Home is read (ui.warmup)


def home() -> None:
    from ui.errors import guard
    from ui.home import LINK, render
    from ui.links import linked

    with guard("drawing the home page"), linked("home", LINK, presets="Home", model=False):
        render()


PAGES = [  # (file, title, icon)
    ("pages/1_Architecture.py", "Architecture", ":material/account_tree:"),
    ("pages/2_Decomposition.py", "Decomposition", ":material/grid_on:"),
    ("pages/3_Prune.py", "Prune", ":material/content_cut:"),
    ("pages/4_Train.py", "Train", ":material/show_chart:"),
    ("pages/5_Lottery.py", "Lottery", ":material/casino:"),
    ("pages/6_Signal_propagation.py", "Signal propagation", ":material/ssid_chart:"),
    ("pages/7_Playground.py", "Playground", ":material/scatter_plot:"),
    ("pages/8_Learn.py", "Learn", ":material/school:"),
    ("pages/9_Compare.py", "Compare", ":material/compare:"),
]
if serving_class():  # the teacher's overview exists on a class server only
    PAGES.append(("pages/10_Class.py", "Class", ":material/groups:"))

pages = [st.Page(home, title="Home", icon=":material/home:", default=True, url_path="home")]
by_file = {f: st.Page(f, title=t, icon=i) for f, t, i in PAGES if (ROOT / f).exists()}
pages += list(by_file.values())
if not join.admitted():  # a class server (`python -m explorer serve --classroom`): the join form first
    st.navigation(pages, position="hidden")
    st.stop()
mark_navigation()
nav = st.navigation(pages)
classroom_slot = st.sidebar.container()  # filled after the page ran (its link may have set the mode)
backend_choice()  # where every page's background work runs (ui.jobs): one choice, drawn once
goto = pending_page()  # a deep link that arrived before navigation existed (ui.nav), with its query
if goto is not None and goto[0] in by_file:
    st.switch_page(by_file[goto[0]], query_params=goto[1] or None)
nav.run()
classroom.render(classroom_slot)
