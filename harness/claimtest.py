"""The claim-file test helpers (`from harness.claimtest import swap, scale, ...`), kept as a
re-export of harness.testing.claimtest."""
from harness.testing.claimtest import *  # noqa: F403
