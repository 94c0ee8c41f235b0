"""Code table of purposes: why data is exchanged. Every request names one; it travels in the service token."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """The purposes the three cities agreed data may be exchanged for."""

    SELF_SERVICE = "self-service"
    """本人查询: a resident reads their own records."""
    CASE_HANDLING = "case-handling"
    """业务经办: an official handles the resident's application."""
    FUND_TRANSFER = "fund-transfer"
    """公积金转移接续."""
    LOAN_APPLICATION = "loan-application"
    """住房公积金贷款: eligibility and limit, with deposits in every city recognised."""
    MEDICAL_SETTLEMENT = "medical-settlement"
    """异地就医直接结算."""
    MEDICAL_FILING = "medical-filing"
    """异地就医备案: a resident files, lists or cancels a filing to be treated in another city."""
    CREDENTIAL_VERIFICATION = "credential-verification"
    """证书核验."""
    TALENT_EVALUATION = "talent-evaluation"
    """职称评审."""


RESIDENT_PURPOSES = frozenset(
    {
        Purpose.SELF_SERVICE,
        Purpose.LOAN_APPLICATION,
        Purpose.FUND_TRANSFER,
        Purpose.TALENT_EVALUATION,
        Purpose.MEDICAL_FILING,
    }
)
"""What a resident may have their own records read for."""
