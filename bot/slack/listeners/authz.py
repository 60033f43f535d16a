"""Authorization where the work happens: the role is asked for again after the ack.

An ack's check is not enough: bolt runs a listener's lazy part whatever its ack answered (a
refused `view_submission` still reaches it), a forged but signed request never saw our ack's
refusal, and an admin may take a role away between the click and the work. So every lazy
listener (`common.guarded`) declares the permission its work needs, and `recheck` asks the
roles directory right before the work runs: the roles file as it is then (re-read when it
changed) and user-group members at most `WORK_GROUP_MAX_AGE` old.

    guarded(save_from_form, permission="deal.add")            # a fixed permission
    guarded(run_command, permission=command_permission)       # worked out from the request
    guarded(cancel, permission=NO_PERMISSION)                 # nothing to protect
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.slack import messages as msg
from bot.slack.roles import WORK_GROUP_MAX_AGE, allowed, required_role

if TYPE_CHECKING:
    from bot.slack.listeners.common import Turn

log = logging.getLogger("dealfinder.bot.authz")

# What a lazy listener needs: a permission name, a function of the request giving one (None:
# there is no work to do for this request), or NO_PERMISSION for work that changes nothing.
Permission = str | Callable[["Turn"], str | None] | None
NO_PERMISSION: Permission = None


def recheck(turn: Turn, permission: Permission, *, told_in_ack: bool) -> bool:
    """Whether `turn`'s user may do the work now; refreshes `turn.role` and `turn.ghl_email`.

    A refused user is told why and who can, privately. `told_in_ack`: the listener's ack
    already shows the user a refusal they will see (a slash command's answer), so when the role
    the ack saw was refused too, saying it again would only repeat it.
    """
    needed = permission(turn) if callable(permission) else permission
    if needed is None:
        return True  # nothing to protect: no need to ask Slack about groups
    ack_role = turn.role
    roles = turn.services.roles
    turn.role = roles.role_of(turn.user_id, max_age=WORK_GROUP_MAX_AGE)
    turn.ghl_email = roles.ghl_email(turn.user_id)
    if allowed(turn.role, needed):
        return True
    log.warning(
        "refused %s to %s (role %s, needs %s) after the ack",
        needed, turn.user_id or "an unknown user", turn.role.value, required_role(needed).value,
    )  # fmt: skip
    if not (told_in_ack and not allowed(ack_role, needed)):
        turn.say(msg.refused(needed, turn.role, required_role(needed).value))
    return False
