"""From one check to an entry's link state (pure: no database access).

ok / redirected / suspect follow the check at once; a failed check makes the
link "broken", and "dead" only once it has failed `LINK_DEAD_AFTER_FAILURES`
checks in a row spread over at least `LINK_DEAD_AFTER_DAYS` days; one good
answer ends the streak. A rate-limited (inconclusive) check changes nothing.
A curator's "checked by hand, fine" keeps the state ok for as long as the
entry's URL is the one they checked.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from .checker import FAILED, INCONCLUSIVE, OK, REDIRECTED, SUSPECT
from .models import LinkState

STATE_OF_RESULT = {OK: LinkState.OK, REDIRECTED: LinkState.REDIRECTED, SUSPECT: LinkState.SUSPECT}


@dataclass(frozen=True)
class DeadPolicy:
    failures: int
    days: int

    @classmethod
    def from_settings(cls):
        return cls(failures=settings.LINK_DEAD_AFTER_FAILURES, days=settings.LINK_DEAD_AFTER_DAYS)


def apply_check(health, check, *, entry_url, state, policy):
    """Update `health` (a LinkHealth) with `check` (a LinkCheck) and return the entry's new state."""
    if health.url != check.url:  # a new URL starts a new streak
        health.url, health.failures_in_row, health.failing_since = check.url, 0, None
    health.last_checked_at = check.checked_at
    health.last_result, health.last_status_code = check.result, check.status_code
    health.last_error, health.detail = check.error, check.detail
    if check.result == INCONCLUSIVE:
        return state
    if health.hand_checked_url and health.hand_checked_url == entry_url:
        health.failures_in_row, health.failing_since = 0, None
        health.redirect_target = check.final_url if check.result == REDIRECTED else ""
        return LinkState.OK
    if check.result == FAILED:
        health.failures_in_row += 1
        health.failing_since = health.failing_since or check.checked_at
    else:
        health.failures_in_row, health.failing_since = 0, None
    health.redirect_target = check.final_url if check.result == REDIRECTED else ""
    if check.result == FAILED:
        long_enough = check.checked_at - health.failing_since >= timedelta(days=policy.days)
        return LinkState.DEAD if health.failures_in_row >= policy.failures and long_enough else LinkState.BROKEN
    return STATE_OF_RESULT[check.result]
