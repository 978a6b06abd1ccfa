"""The status strings the server writes, spelled exactly as the real Kostyor does."""

READY = "READY FOR UPGRADE"
NOT_READY = "NOT READY FOR UPGRADE"
IN_PROGRESS = "UPGRADE IN PROGRESS"
PAUSED = "UPGRADE PAUSED"
ERROR = "UPGRADE ERROR"
CANCELLED = "UPGRADE CANCELLED"
ROLLBACK_IN_PROGRESS = "UPGRADE ROLLBACK IN PROGRESS"
SUCCEED = "UPGRADE SUCCEED"

# An upgrade in one of these is not finished: the cluster takes no new upgrade.
ACTIVE = frozenset({IN_PROGRESS, PAUSED, ERROR, ROLLBACK_IN_PROGRESS})
# The engine moves instances only in these.
RUNNING = frozenset({IN_PROGRESS, ROLLBACK_IN_PROGRESS})
