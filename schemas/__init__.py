"""The exchange standard the three cities agreed on (统一共享交换标准).

Canonical models, envelopes, the error model and code tables. This package imports nothing
from the rest of the project; everything else depends on it.
"""
