"""The program's predictors, as it describes them (`icl-sweep --describe-predictors`, the core's
list in src/predictors.hpp; icl_sweep.declared): nothing here is typed a second time.

PREDICTORS maps a name for the command line to (the estimate's column, its standard error's
column or None for a closed form, the label for legends): a predictor with a Monte-Carlo column
is NAME (and NAME_theory where it also has a closed form); one with a closed form only is NAME.
"""
from .declared import declared

SPECS = declared("predictors")


def _table(specs):
    table = {}
    for p in specs:
        columns = {c["quantity"]: c["name"] for c in p["columns"]}
        if "mc" in columns:
            table[p["name"]] = (columns["mc"], columns.get("mc_se"), p["label"])
            if "theory" in columns:
                # A theory column with a standard error is a closed form where that is 0 and a
                # conditional Monte-Carlo estimate elsewhere (the whole LSA layer).
                label = p["label"] + (", theory" if "theory_se" in columns else ", closed form")
                table[p["name"] + "_theory"] = (columns["theory"], columns.get("theory_se"), label)
        elif "theory" in columns:
            table[p["name"]] = (columns["theory"], None, p["label"] + ", closed form")
        elif "theory_else_mc" in columns:
            table[p["name"]] = (columns["theory_else_mc"], None, p["label"])
    return table


PREDICTORS = _table(SPECS)
# Every predictor column of a results file, in the program's row order.
COLUMNS = [c["name"] for p in SPECS for c in p["columns"]]
