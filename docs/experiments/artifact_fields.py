"""Reading artifact files written by any version of clp-flow."""


def field(d, name, default=KeyError):
    """A field of an artifact file by its snake_case name; runs of older versions wrote the same
    field in camelCase (`reward_names` was `rewardNames`)."""
    head, *rest = name.split("_")
    for k in (name, head + "".join(w[:1].upper() + w[1:] for w in rest)):
        if k in d:
            return d[k]
    if default is KeyError:
        raise KeyError(name)
    return default
