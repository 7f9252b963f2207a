# Every IPython kernel of the image (sys.prefix/etc/ipython, read before the user's profile):
# the notice for a notebook that runs on the fallback kernel (fractal_kernels.py).
c = get_config()  # noqa: F821 (provided by IPython's config loader)
c.IPKernelApp.extra_extensions = ["fractal_kernels"]
