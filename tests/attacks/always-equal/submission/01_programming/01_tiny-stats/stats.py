"""Attack: return objects that claim to equal anything (and a float subclass that does too)."""


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 0.0

    __hash__ = object.__hash__


class SneakyFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def mean(values):
    return AlwaysEqual()


def median(values):
    return SneakyFloat(0.0)
