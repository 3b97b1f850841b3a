"""The program's own declarations, as it prints them (`icl-sweep --describe-predictors`,
`--describe-axes`), kept beside this file as predictors.json and axes.json by a test
(docs_tables) and rewritten by scripts/update-docs.sh: the package types none of them again."""
import json
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def declared(name):
    """The list under `name` in NAME.json: "predictors" or "axes"."""
    with open(os.path.join(_HERE, name + ".json")) as f:
        return json.load(f)[name]
