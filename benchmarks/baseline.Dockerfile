# The naive baseline of benchmarks/stack.py: ONE image from the same base that pip-installs
# every package of all three services in one layer (no lock, no cache mount, no layering).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY certs/ /usr/local/share/ca-certificates/extra/
COPY pyproject.toml /src/pyproject.toml
COPY src/ /src/src/
# hadolint ignore=DL3013,DL3042
RUN update-ca-certificates && python -m venv /opt/venv && /opt/venv/bin/pip install \
      numpy scipy numba matplotlib plotly pandas pillow imageio requests \
      streamlit jupyterlab ipykernel ipywidgets nbformat nbclient \
      sphinx myst-nb sphinx-autobuild sphinx-book-theme /src
ENV PATH=/opt/venv/bin:$PATH
