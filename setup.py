"""Package list (the rest of the metadata is in pyproject.toml).

The shipped models stay in the top-level models/ folder but install as the package ``mathsym_models``, so the
code finds them through importlib.resources in a checkout, an editable install and a wheel alike; pyproject's
package discovery cannot map a folder to another package name next to the found ones.
"""

from setuptools import find_packages, setup

CODE = ["trainer", "trainer.*", "mathsym_gui", "mathsym_gui.*"]

setup(packages=[*find_packages(include=CODE), "mathsym_models"], package_dir={"mathsym_models": "models"})
