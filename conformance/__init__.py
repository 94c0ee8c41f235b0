"""The exchange-contract conformance kit: checks any city backend against the exchange standard.

``run_conformance`` runs the checks of :mod:`conformance.checks` against one city and returns a :class:`Report`;
:func:`conformance.junit.junit_xml` renders it for CI; ``czt conformance`` is the command line. See
docs/integrators.md.
"""

from conformance.checks import CHECKS, Check
from conformance.runner import CheckResult, Outcome, Report, run_conformance

__all__ = ["CHECKS", "Check", "CheckResult", "Outcome", "Report", "run_conformance"]
