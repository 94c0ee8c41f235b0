"""A conformance report as JUnit XML, the format every CI server shows as a test report.

One ``<testsuite>`` per city; one ``<testcase>`` per check, named by the check's id, with ``<failure>`` or
``<skipped>`` carrying the reason. The subject's ID number appears masked only.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

from conformance.runner import Outcome, Report
from schemas.idcard import mask_id_number


def junit_xml(report: Report) -> str:
    """The report as a JUnit XML document (UTF-8, with declaration)."""
    suites = ET.Element(
        "testsuites",
        name="czt conformance",
        tests=str(len(report.results)),
        failures=str(report.count(Outcome.FAIL)),
        errors="0",
        skipped=str(report.count(Outcome.SKIP)),
        time=_seconds(report.elapsed_ms),
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"conformance {report.city_code}",
        tests=str(len(report.results)),
        failures=str(report.count(Outcome.FAIL)),
        errors="0",
        skipped=str(report.count(Outcome.SKIP)),
        time=_seconds(report.elapsed_ms),
        timestamp=report.started_at.replace(tzinfo=None).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("city_url", report.city_url),
        ("city_code", report.city_code),
        ("subject", mask_id_number(report.subject)),
        ("deadline_s", f"{report.deadline_s:g}"),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{report.city_code}",
            name=result.id,
            time=_seconds(result.elapsed_ms),
        )
        if result.outcome is Outcome.FAIL:
            failure = ET.SubElement(case, "failure", message=result.detail, type="ContractViolation")
            failure.text = f"{result.title}: {result.proves}\n{result.detail}"
        elif result.outcome is Outcome.SKIP:
            ET.SubElement(case, "skipped", message=result.detail)
        else:
            ET.SubElement(case, "system-out").text = result.detail
    if report.writes:
        ET.SubElement(suite, "system-out").text = "The run wrote to the city:\n" + "\n".join(report.writes)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"
