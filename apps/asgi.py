"""The gallery's server (``streamlit run apps/asgi.py``): Streamlit's own, running apps/gallery.py.

Under a base URL path (production serves the gallery at ``/app/``), a visitor who opens the bare
address, ``/``, is sent to the gallery (HTTP 302, query string kept) instead of Streamlit's bare
404. Streamlit's server is Starlette; ``st.App`` is its documented way to add a route beside its
own. Nothing else changes: every session runs gallery.py.
"""
import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

BASE = st.get_option("server.baseUrlPath").strip("/")


def to_gallery(request: Request) -> RedirectResponse:
    """``/`` -> ``/<base>/``, with the request's query string."""
    query = request.url.query
    return RedirectResponse(f"/{BASE}/" + (f"?{query}" if query else ""), status_code=302)


# Without a base path, `/` is the gallery itself (a route there would clash with Streamlit's).
app = st.App("gallery.py", routes=[Route("/", to_gallery)] if BASE else [])
