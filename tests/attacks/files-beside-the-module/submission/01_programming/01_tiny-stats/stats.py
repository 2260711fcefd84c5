"""Attack: rely on hostile files beside the module (conftest.py, pytest.ini, sitecustomize.py)."""


def mean(values):
    return 0


def median(values):
    return 0
