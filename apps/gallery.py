"""The Streamlit gallery's entry file: it only routes (``streamlit run apps/gallery.py``).

The page served at ``/`` is ``STREAMLIT_APP`` (default: the branching tree); the sidebar
reaches every page of ``gallerykit.PAGES``. The page configuration (browser tab title from the
page's title in ``PAGES``, icon, wide layout) is set here, once, for whichever page runs; each
page is a plain script that also runs alone.
"""
import os
from pathlib import Path

import streamlit as st

from gallerykit import collect_garbage, freeze_startup_heap, home_page, navigation_pages, page_config

freeze_startup_heap()  # once per process: Streamlit's collection after each run skips the libraries

home = home_page(os.environ.get("STREAMLIT_APP"), Path(__file__).parent)
page = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=p.file == home)
                      for p in navigation_pages(home)])
page_config(page.title)
try:
    page.run()
finally:  # instead of Streamlit's collection after every run (runner.postScriptGC, off)
    collect_garbage()
