"""The claim-file API (`from harness.claims import Claim, RatioOfMeans, ...`): a re-export of
the analysis layer, where statistics (analysis/statistics.py), claims and verdicts
(analysis/verdicts.py) and claim discovery (analysis/discovery.py) live."""
from harness.analysis.discovery import *  # noqa: F403
from harness.analysis.statistics import *  # noqa: F403
from harness.analysis.verdicts import *  # noqa: F403
