"""The Lp layer against its formula, and input gradients against finite differences."""
import numpy as np
import pytest
import torch

from harness.config import VARIANTS, Protocol, Variant
from harness.runs.study import tasks_for
from harness.train.measure import Arch, forward
from harness.train.reference import build, read_params


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_lp_layer_matches_its_formula(p):
    pr = Protocol()
    torch.manual_seed(1)
    model = build(Variant("x", "lp", p=p), pr).double()
    x = torch.randn(50, 2, dtype=torch.float64)
    with torch.no_grad():
        h = torch.relu(model.fc1(x))
        direct = ((model.w.abs() * h).pow(p).sum(1) + pr.lp_eps).pow(1 / p) + model.b
        got = model.scalar(x)
    # The max-factored form equals the direct formula up to the eps term's scaling.
    assert torch.allclose(got, direct, rtol=1e-5, atol=1e-5)
    prm = {k: v[None].astype(np.float64) for k, v in read_params(model).items()}
    s, _, _, _ = forward(prm, Arch("lp", p), x.numpy()[None], pr.lp_eps)
    assert np.allclose(s[0], got.numpy(), rtol=1e-12, atol=1e-12)
    if p == 1.0:  # sum_i |w_i| h_i + b up to M * eps
        assert torch.allclose(got, (model.w.abs() * h).sum(1) + model.b, atol=1e-5)


@pytest.mark.parametrize("arch,p", [("lp", 1.0), ("lp", 2.0), ("lp", 3.0), ("linear", np.nan)])
def test_gradient_norm_matches_finite_differences(arch, p):
    pr = Protocol()
    torch.manual_seed(2)
    v = Variant("x", arch, p=p)
    prm = {k: a[None].astype(np.float64) for k, a in read_params(build(v, pr)).items()}
    x = tasks_for([0], pr)[0].x_test[None, :200].astype(np.float64)
    s, grad, z, _ = forward(prm, Arch(arch, p), x, pr.lp_eps)
    h = 1e-6
    fd = np.zeros_like(grad)
    for k in range(2):
        dx = np.zeros(2)
        dx[k] = h
        sp, *_ = forward(prm, Arch(arch, p), x + dx, pr.lp_eps)
        sm, *_ = forward(prm, Arch(arch, p), x - dx, pr.lp_eps)
        fd[..., k] = (sp - sm) / (2 * h)
    # skip points within h of a ReLU kink, where the derivative does not exist
    smooth = np.all(np.abs(z) > 1e-4, axis=-1)
    assert smooth.sum() > 150
    assert np.allclose(grad[smooth], fd[smooth], rtol=1e-5, atol=1e-6)


def test_gradient_is_of_the_internal_scalar_and_matches_autograd():
    pr = Protocol()
    torch.manual_seed(3)
    for v in (VARIANTS["lp"], VARIANTS["linear"], VARIANTS["lp2"]):
        model = build(v, pr).double()
        x = torch.tensor(tasks_for([1], pr)[1].x_test[:100], dtype=torch.float64, requires_grad=True)
        model.scalar(x).sum().backward()
        prm = {k: a[None].astype(np.float64) for k, a in read_params(model).items()}
        _, grad, _, _ = forward(prm, Arch(v.arch, v.p), x.detach().numpy()[None], pr.lp_eps)
        assert np.allclose(grad[0], x.grad.numpy(), atol=1e-10)
