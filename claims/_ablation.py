"""The ablation variants of PROTOCOL.md, by short name (files starting with _ hold no claims)."""

VARIANTS = {
    "l1(0.001)": "linear+l1(0.001)",
    "l1(0.01)": "linear+l1(0.01)",
    "l1(0.1)": "linear+l1(0.1)",
    "soft(0.1)": "linear+nonneg_soft(0.1)",
    "soft(0.5)": "linear+nonneg_soft(0.5)",
    "soft(1)": "linear+nonneg_soft(1)",
    "hard": "linear+nonneg_hard",
}
