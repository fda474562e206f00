"""Login throttling: per user name and client address, with exponential back-off.

Failed logins are counted per pair of user name and client address, never per name or per
address alone: an attacker who knows a user name cannot lock its owner out (a correct
password from another address still works at once), and many operators behind one
proxy or office address are not locked out together by someone guessing among them.

The first :data:`FREE_FAILURES` tries of a pair answer at once; after that each failure
doubles the wait before the next try, from :data:`FIRST_DELAY_S` up to
:data:`MAX_DELAY_S`. A correct password clears the pair; a pair without a failure for
:data:`FORGET_AFTER_S` starts again from nothing.

Each try is counted *before* its password is checked, by one conditional ``UPDATE`` in the
state database (:meth:`dashboard.statedb.StateStore.claim_login_attempt`), so requests
racing on several workers cannot all slip in under the limit: the database hands out the
tries one by one. The client address is ``request.remote_addr``, which
:mod:`dashboard.security.proxies` takes from ``X-Forwarded-For`` only behind ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Failed tries of one user name from one address that are not slowed down.
FREE_FAILURES = 5
#: The wait after the first failure beyond the free ones; each further failure doubles it.
FIRST_DELAY_S = 30.0
#: The longest wait between two tries.
MAX_DELAY_S = 15 * 60.0
#: A pair with no failed try for this long starts again with its free tries.
FORGET_AFTER_S = 24 * 3600.0


@dataclass(frozen=True)
class Policy:
    """How failed logins of one user name from one address are slowed down."""

    free_failures: int = FREE_FAILURES
    first_delay_s: float = FIRST_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    forget_after_s: float = FORGET_AFTER_S

    def delay_after(self, failures: int) -> float:
        """Seconds before the next try is allowed once ``failures`` tries have been counted."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** (failures - self.free_failures))

    def steps(self) -> list[tuple[int, float]]:
        """``(failures, delay)`` for every count whose delay is below the maximum (beyond: the maximum)."""
        found: list[tuple[int, float]] = []
        failures = self.free_failures
        while (delay := self.delay_after(failures)) < self.max_delay_s:
            found.append((failures, delay))
            failures += 1
        return found


def throttle_key(username: str) -> str:
    """The user name as the throttle counts it: ``Alice`` and `` alice`` are one name."""
    return username.strip().lower()[:150]
