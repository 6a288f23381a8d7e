"""Enumerations of the API: the names behind the integers, as the ``.../statuses``-style
endpoints list them (index = value)."""

from __future__ import annotations

PAIRING_STATUSES = ("Paired", "Pairing", "Unpaired")
PAIRED, PAIRING, UNPAIRED = 0, 1, 2

TASK_STATES = (
    "FirstUnusedValue",
    "InProgress",
    "WaitingForUserInput",
    "Paused",
    "Failed",
    "Stopped",
    "Completed",
    "Cancelling",
)
TASK_IN_PROGRESS, TASK_FAILED, TASK_COMPLETED = 1, 4, 6

VRA_STATUSES = (
    "Installed",
    "UnsupportedEsxVersion",
    "NotInstalled",
    "Installing",
    "Removing",
    "InstallationError",
    "HostPasswordChanged",
    "UpdatingIpSettings",
    "DuringChangeHost",
    # 9 per the CLA's help only (VraStatusApi lists 0-10; the name of 10 was not found)
    "HostInMaintenanceMode",
)
VRA_INSTALLED, VRA_INSTALLING, VRA_REMOVING, VRA_UPDATING_IP = 0, 3, 4, 7
VRA_DURING_CHANGE_HOST, VRA_HOST_IN_MAINTENANCE = 8, 9
VRA_IP_CONFIGURATION_TYPES = ("Dhcp", "Static")

VPG_STATUSES = (
    "Initializing",
    "MeetingSLA",
    "NotMeetingSLA",
    "RpoNotMeetingSLA",
    "HistoryNotMeetingSLA",
    "FailingOver",
    "Moving",
    "Deleting",
    "Recovered",
)
(
    INITIALIZING,
    MEETING_SLA,
    NOT_MEETING_SLA,
    RPO_NOT_MEETING_SLA,
    HISTORY_NOT_MEETING_SLA,
    FAILING_OVER,
    MOVING,
    DELETING,
    RECOVERED,
) = range(9)

VPG_SUBSTATUSES = (
    "None",
    "InitialSync",
    "Creating",
    "VolumeInitialSync",
    "Sync",
    "RecoveryPossible",
    "DeltaSync",
    "NeedsConfiguration",
    "Error",
    "EmptyProtectionGroup",
    "DisconnectedFromPeerNoRecoveryPoints",
    "FullSync",
    "VolumeDeltaSync",
    "VolumeFullSync",
    "FailingOverCommitting",
    "FailingOverBeforeCommit",
    "FailingOverRollingBack",
    "Promoting",
    "MovingCommitting",
    "MovingBeforeCommit",
    "MovingRollingBack",
    "Deleting",
    "PendingRemove",
    "BitmapSync",
    "DisconnectedFromPeer",
    "ReplicationPausedUserInitiated",
    "ReplicationPausedSystemInitiated",
    "RecoveryStorageProfileError",
    "Backup",
    "RollingBack",
    "RecoveryStorageError",
    "JournalStorageError",
    "VmNotProtectedError",
)
SUB_NONE = 0
SUB = {name: index for index, name in enumerate(VPG_SUBSTATUSES)}

VPG_PRIORITIES = ("Low", "Medium", "High")
VPG_ENTITY_TYPES = ("VCVpg", "VCvApp", "VCDvApp", "PublicCloud", "HyperV", "Other")
VPG_RETENTION_POLICIES = ("Standard", "Extended")
COMMIT_POLICIES = ("Rollback", "Commit", "None")
SHUTDOWN_POLICIES = ("None", "Shutdown", "ForceShutdown")
#: VpgAlertStatusApi
VPG_ALERT_STATUSES = ("None", "Warning", "Error", "Disabled", "Unknown")

ALERT_LEVELS = ("Warning", "Error")
ALERT_ENTITIES = ("Zvm", "Vra", "Vpg", "Site", "License")
#: CheckpointTypeApi
CHECKPOINT_AUTOMATIC, CHECKPOINT_TAGGED = 0, 1

RECOVERY_TYPES = ("FailoverTest", "Failover", "Move")
