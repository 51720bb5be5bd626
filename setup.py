"""Package list (the rest of the metadata is in pyproject.toml).

The shipped models stay in the top-level models/ folder but install as the package ``mathsym_models``, so the
code finds them through importlib.resources in a checkout, an editable install and a wheel alike. Sub-packages
such as trainer.data have no __init__.py, hence the namespace search.
"""

from setuptools import find_namespace_packages, setup

CODE = ["trainer", "trainer.*", "mathsym_gui", "mathsym_gui.*"]

setup(packages=[*find_namespace_packages(include=CODE), "mathsym_models"], package_dir={"mathsym_models": "models"})
