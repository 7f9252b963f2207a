# `jupyter nbconvert --execute` in the image: a notebook naming a kernel the image lacks runs on
# the image's Python kernel, with a notice (fractal_kernels.py), instead of stopping with NoSuchKernel.
c = get_config()  # noqa: F821 (provided by the config loader)
c.ExecutePreprocessor.kernel_manager_class = "fractal_kernels.FallbackKernelManager"
