"""The reference engine: one plain torch.nn.Module at a time with torch.optim.Adam and
clip_grad_norm_, exactly as the experiment trained. Slow; the yardstick for the batched
engine and the way to reproduce the write-up's own run (`reproduce`)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from harness.config import Protocol, Variant
from harness.train.seeding import PARAM_NAMES


class LpNet(nn.Module):
    """h = ReLU(W1 x + b1); s = (sum (|w_i| h_i)^p + eps)^(1/p) + b (max-factored);
    logit = c ReLU(s) + e."""

    def __init__(self, protocol: Protocol, p: float):
        super().__init__()
        self.p, self.eps = float(p), protocol.lp_eps
        self.fc1 = nn.Linear(protocol.dim, protocol.hidden)
        self.w = nn.Parameter(torch.empty(1, protocol.hidden))
        nn.init.uniform_(self.w, protocol.lp_init_low, protocol.lp_init_high)
        self.b = nn.Parameter(torch.zeros(1))
        self.out = nn.Linear(1, 1)

    def scalar(self, x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B,)
        h = torch.relu(self.fc1(x))
        a = torch.abs(h * self.w)  # the experiment took |w_i h_i|, gradient through abs
        m = a.max(dim=1, keepdim=True).values.clamp_min(self.eps)
        s = m * ((a / m).pow(self.p).sum(dim=1, keepdim=True) + self.eps).pow(1.0 / self.p) + self.b
        return s.squeeze(-1)

    def agg_weight(self) -> torch.Tensor:
        return self.w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.scalar(x)).unsqueeze(-1)).squeeze(-1)

    def params_dict(self) -> dict[str, torch.Tensor]:
        return {"W1": self.fc1.weight, "b1": self.fc1.bias, "w": self.w.view(-1), "b": self.b.view(()),
                "c": self.out.weight.view(()), "e": self.out.bias.view(())}


class LinearNet(nn.Module):
    """h = ReLU(W1 x + b1); s = w . h + b; logit = c ReLU(s) + e."""

    def __init__(self, protocol: Protocol):
        super().__init__()
        self.fc1 = nn.Linear(protocol.dim, protocol.hidden)
        self.agg = nn.Linear(protocol.hidden, 1)
        self.out = nn.Linear(1, 1)

    def scalar(self, x: torch.Tensor) -> torch.Tensor:
        return self.agg(torch.relu(self.fc1(x))).squeeze(-1)

    def agg_weight(self) -> torch.Tensor:
        return self.agg.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.scalar(x)).unsqueeze(-1)).squeeze(-1)

    def params_dict(self) -> dict[str, torch.Tensor]:
        return {"W1": self.fc1.weight, "b1": self.fc1.bias, "w": self.agg.weight.view(-1),
                "b": self.agg.bias.view(()), "c": self.out.weight.view(()), "e": self.out.bias.view(())}


def build(variant: Variant, protocol: Protocol) -> nn.Module:
    """Draws the initialisation from torch's global generator, in the experiment's order."""
    return LpNet(protocol, variant.p) if variant.arch == "lp" else LinearNet(protocol)


def load_params(model: nn.Module, params: dict[str, np.ndarray]) -> None:
    with torch.no_grad():
        for name, t in model.params_dict().items():
            t.copy_(torch.as_tensor(np.asarray(params[name]), dtype=t.dtype).view(t.shape))


def read_params(model: nn.Module) -> dict[str, np.ndarray]:
    return {n: model.params_dict()[n].detach().cpu().numpy().copy() for n in PARAM_NAMES}


def penalty(model: nn.Module, variant: Variant) -> torch.Tensor | float:
    w = model.agg_weight()
    if variant.reg == "l1":
        return variant.lam * w.abs().sum()
    if variant.reg == "nonneg_soft":
        return variant.lam * torch.relu(-w).pow(2).sum()
    return 0.0


def train(model: nn.Module, variant: Variant, x: np.ndarray, y: np.ndarray,
          perms: Iterable[np.ndarray], protocol: Protocol) -> None:
    """Trains in place: one epoch per permutation, its first steps_per_epoch batches."""
    dtype = next(model.parameters()).dtype
    xt, yt = torch.as_tensor(x, dtype=dtype), torch.as_tensor(y, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=protocol.lr, betas=(protocol.beta1, protocol.beta2),
                           eps=protocol.adam_eps)
    loss_fn = nn.BCEWithLogitsLoss()
    bs = protocol.batch_size
    for perm in perms:
        for i in range(protocol.steps_per_epoch):
            idx = torch.as_tensor(np.asarray(perm[i * bs:(i + 1) * bs], dtype=np.int64))
            loss = loss_fn(model(xt[idx]), yt[idx]) + penalty(model, variant)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), protocol.clip)
            opt.step()
            if variant.reg == "nonneg_hard":
                with torch.no_grad():
                    model.agg_weight().clamp_(min=0.0)


def train_study_run(variant: Variant, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                    perms: np.ndarray, protocol: Protocol, dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray]:
    """Trains one model from given initial parameters and permutations (the study's
    seeding); returns its final parameters."""
    torch.manual_seed(0)  # construction draws are overwritten by load_params
    model = build(variant, protocol).to(dtype)
    load_params(model, params)
    train(model, variant, x, y, perms, protocol)
    return read_params(model)


def reproduce(seed: int = 0, protocol: Protocol | None = None,
              models: tuple[str, ...] = ("lp", "linear")) -> dict[str, dict]:
    """The write-up's experiment with its own seeding (PROTOCOL.md): one seed drives the
    polytope, the data, torch's initialisation and the shuffles; Lp trains first, then
    Linear, continuing both generators. Returns each model's run-table measurements."""
    from harness.config import VARIANTS
    from harness.train.measure import Arch, measure
    from harness.train.task import experiment_task

    protocol = protocol or Protocol()
    task, x, y, rng = experiment_task(seed, protocol)
    torch.manual_seed(seed)
    out = {}
    for name in models:
        v = VARIANTS[name]
        model = build(v, protocol)
        perms = (rng.permutation(protocol.n_train) for _ in range(protocol.epochs))
        train(model, v, x, y, perms, protocol)
        params = {k: a[None] for k, a in read_params(model).items()}
        cols, _ = measure(params, Arch(v.arch, v.p), [task], protocol)
        out[name] = {k: (a[0].item() if hasattr(a[0], "item") else a[0]) for k, a in cols.items()}
        out[name]["params"] = {k: a[0] for k, a in params.items()}
    return out
