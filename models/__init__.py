"""The models shipped with MathSym (installed as the package ``mathsym_models``): read-only package data."""
