"""The write-up's single-seed numbers (seed 0; PROTOCOL.md's last table), keyed by the run
table's column names. The one place they are written down."""
from harness.errors import HarnessError

WRITEUP_SEED0: dict[str, dict[str, float]] = {
    "lp": {
        "accuracy": 0.990, "grad_interior": 6.07, "grad_boundary": 14.82, "grad_exterior": 17.80,
        "flat_count": 32, "n_interior": 101, "flat_frac": 32 / 101, "active_inside": 0.218, "active_outside": 0.404,
        "center_active_n": 4, "center_active_absw": 0.0086, "center_inactive_absw": 1.5796,
        "min_absw": 0.0005, "n_absw_lt_001": 4, "n_absw_lt_01": 5,
    },
    "linear": {
        "accuracy": 0.992, "grad_interior": 7.43, "grad_boundary": 9.14, "grad_exterior": 10.79,
        "flat_count": 3, "n_interior": 101, "flat_frac": 3 / 101, "flipped_flat_count": 3,
        "active_inside": 0.338, "active_outside": 0.441, "center_active_n": 3, "center_active_absw": 0.6112,
        "center_inactive_absw": 0.7993, "min_absw": 0.0234, "n_absw_lt_001": 0, "n_absw_lt_01": 2,
        "n_negative_w": 3,
    },
}

# What the write-up says of its seed-0 runs in words, as the 0/1 outcomes the claims test:
# both learned the task (99.0% / 99.2%: neither collapsed); Lp's interior gradient norms
# were bimodal, Linear's unimodal.
WRITEUP_SEED0_OUTCOMES: dict[str, dict[str, float]] = {
    "lp": {"collapsed": 0.0, "bimodal": 1.0},
    "linear": {"collapsed": 0.0, "bimodal": 0.0},
}

# A seed-0 number the write-up did not report (PROTOCOL.md: "the write-up did not report the
# flipped model's accuracy"), from the reproduction of its run (`python -m harness reproduce`,
# whose seed 0 matches every number above).
REPRODUCED_SEED0: dict[str, dict[str, float]] = {
    "linear": {"flipped_accuracy": 0.866},
}


def seed0(model: str, quantity: str) -> float:
    """The write-up's seed-0 value of one quantity of one model, as a float: from its table,
    else from its words, else from the reproduction. Claim files compute their `writeup`
    value from these (`seed0("linear", "min_absw") / seed0("lp", "min_absw")`) rather than
    retyping the numbers."""
    for table in (WRITEUP_SEED0, WRITEUP_SEED0_OUTCOMES, REPRODUCED_SEED0):
        if quantity in table.get(model, {}):
            return float(table[model][quantity])
    raise HarnessError(f"no seed-0 value of {quantity!r} for model {model!r}; add it to harness/writeup.py")


# Printing precision for the reproduce table: decimals per column.
DECIMALS = {"accuracy": 3, "grad_interior": 2, "grad_boundary": 2, "grad_exterior": 2, "flat_frac": 3,
            "active_inside": 3, "active_outside": 3, "center_active_absw": 4, "center_inactive_absw": 4,
            "min_absw": 4}
