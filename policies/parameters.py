"""The technical parameters an item can state, and their physically possible ranges.

A value outside its range (-5 qubits, a C-NOT error of 2.0, 0 K) is bad input: the item
check rejects it with one line naming the field and the range, and the evaluator reads it
as unknown, so it can never classify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    """A technical parameter an item can state, and the range in which it is physically possible.

    ``lower`` and ``upper`` are exclusive bounds; a value outside them is bad input (a
    machine cannot have -5 qubits or a C-NOT error of 2.0), never a classification.
    """

    name: str
    expected: str
    lower: float
    upper: float | None = None
    integer: bool = False

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not a possible value of this parameter, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"expected {self.expected}, got {value!r}"
        if self.integer and not float(value).is_integer():
            return f"expected {self.expected}, got {value!r}"
        if value <= self.lower or (self.upper is not None and value >= self.upper):
            return f"expected {self.expected}, got {value!r}"
        return None


PARAMETERS = {
    p.name: p
    for p in (
        Parameter("physical_qubits", "a positive whole number of qubits (1 or more)", 0, integer=True),
        Parameter("cnot_error", "an average C-NOT error between 0 and 1 (0 < error < 1)", 0, 1),
        Parameter("operating_temperature_k", "a temperature in kelvin above 0 K (> 0)", 0),
    )
}
NUMERIC_PARAMETERS = tuple(PARAMETERS)


__all__ = ["NUMERIC_PARAMETERS", "PARAMETERS", "Parameter"]
