"""What an operator does, for both faces: find a cluster by name, read where it stands,
start an upgrade, act on one, discover a cluster.

Every change goes through here, so this is where kostyor-tui's policy lives:
the one read-only guard (`guard`), the pre-checks read from the lifecycle table
(docs/kostyor-api.md#lifecycle; the real server checks nothing,
docs/kostyor-api.md#quirk-no-transition-checks), and the rule that a POST or
PUT is sent once and never retried. After a change the state is re-read rather
than trusted from the answer (docs/kostyor-api.md#quirk-action-on-oldest); after
a failure whose effect is unknown (a timeout, a dropped connection, a 5xx: the
server may have acted, docs/kostyor-api.md#quirk-500-after-save) it is re-read
until it tells, within a bounded window, and the operator is told what actually
happened. Only a re-read that proves nothing was saved says it is safe to try
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kostyor_tui.api.client import KostyorClient, unknown_cluster
from kostyor_tui.api.errors import Busy, KostyorError, NotFound, ProtocolError, ServerError
from kostyor_tui.domain.lifecycle import (
    LIFECYCLE,
    START_BLOCKED_BY,
    Action,
    action_refusal,
    effective_status,
    newest_upgrade,
    start_refusal,
)
from kostyor_tui.domain.statuses import Status
from kostyor_tui.domain.text import one_line, redact, redact_urls, secret_values
from kostyor_tui.errors import AmbiguousName, KostyorTuiError, Refused

if TYPE_CHECKING:
    from kostyor_tui.api.models import Cluster, Upgrade

Narrate = Callable[[str], None]
FORCE_HINT = "send it anyway with --force"
_MAX_AUDIT_DETAIL = 500


@dataclass(frozen=True)
class AuditEvent:
    """One change an operator asked for, as the audit trail records it: what was asked
    (`action`: start-upgrade, pause, continue, rollback, cancel or discover), on which
    cluster, whether it was forced and whether it was sent at all, and how it ended:
    `outcome` is `done` (`detail`: the state as re-read afterwards), `refused` (by
    kostyor-tui, before sending: read-only mode, the lifecycle) or `failed` (`detail`:
    the error's one line). Parameters are recorded by name only: their values may be
    secrets. Who, when, from which profile and to which endpoint is the recorder's to add.
    """

    action: str
    cluster: str | None
    cluster_id: str | None = None
    forced: bool = False
    sent: bool = False
    outcome: str = "done"
    detail: str = ""
    upgrade_id: str | None = None
    to_version: str | None = None
    parameters: tuple[str, ...] = field(default=())


# Records an AuditEvent (kostyor_tui.audit writes them to a file). An OSError is told,
# never raised through an operation.
Audit = Callable[[AuditEvent], None]


@dataclass
class _Recording:
    """An AuditEvent being filled in while an operation runs."""

    event: AuditEvent

    def update(self, **changes: Any) -> None:
        self.event = replace(self.event, **changes)


# The shortest prefix of an upgrade id `resolve_upgrade` accepts (as git's short ids).
MIN_ID_PREFIX = 4
_MAX_IDS_LISTED = 10


@dataclass(frozen=True)
class Recheck:
    """How an outcome that is not known yet is read again before anything definite is said:
    up to `attempts` reads, `interval` seconds apart."""

    attempts: int = 3
    interval: float = 1.0


@dataclass(frozen=True)
class ClusterReading:
    """A cluster and its upgrades as just read; `current` is its newest upgrade, with the
    status its cluster implies when the server left it null
    (docs/kostyor-api.md#quirk-null-upgrade-status)."""

    cluster: Cluster
    upgrades: tuple[Upgrade, ...]
    current: Upgrade | None

    @property
    def status(self) -> Status:
        """Where the cluster stands: its current upgrade's status while that is unfinished,
        else the cluster's own."""
        if self.current is not None and self.current.status in START_BLOCKED_BY:
            return self.current.status
        return self.cluster.status


def label(cluster: Cluster) -> str:
    """How a cluster is named in a message: its name, else its id."""
    return cluster.name or cluster.id or "?"


def with_status(upgrade: Upgrade, cluster: Cluster | None) -> Upgrade:
    """`upgrade` with its null status derived from its cluster (for the newest upgrade only)."""
    status = effective_status(upgrade, cluster)
    if status is upgrade.status:
        return upgrade
    return upgrade.model_copy(update={"status": status})


def with_derived_statuses(
    upgrades: Sequence[Upgrade], clusters: Sequence[Cluster]
) -> list[Upgrade]:
    """The upgrades, each cluster's newest one with the status its cluster implies if null.
    Only the newest: the cluster's status says nothing about its older upgrades."""
    by_cluster: dict[str | None, list[Upgrade]] = {}
    for upgrade in upgrades:
        by_cluster.setdefault(upgrade.cluster_id, []).append(upgrade)
    clusters_by_id = {cluster.id: cluster for cluster in clusters}
    derived: dict[int, Upgrade] = {}
    for cluster_id, own in by_cluster.items():
        newest = newest_upgrade(own)
        if newest is not None and newest.status is Status.UNKNOWN:
            derived[id(newest)] = with_status(newest, clusters_by_id.get(cluster_id))
    return [derived.get(id(upgrade), upgrade) for upgrade in upgrades]


def effect_unknown(failure: KostyorError) -> bool:
    """Whether a failed POST or PUT may still have changed something on the server: no
    answer came, or a 5xx or garbled one (the server may fail after saving). A 503 is a
    5xx although it is Busy; a 429 says the request was not taken."""
    if isinstance(failure, Busy):
        return failure.status_code >= 500
    return isinstance(failure, ServerError | ProtocolError) or failure.outcome_unknown


class Operations:
    """One per face, over one client. `narrate` receives what the operator should know
    beyond the result (headless: stderr; console: a notification)."""

    def __init__(
        self,
        client: KostyorClient,
        *,
        read_only: bool = False,
        read_only_hint: str = "run without --read-only to allow it",
        recheck: Recheck = Recheck(),
        narrate: Narrate = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
        audit: Audit | None = None,
    ) -> None:
        self.client = client
        self.read_only = read_only
        self._read_only_hint = read_only_hint
        self._recheck = recheck
        self._narrate = narrate
        self._sleep = sleep
        self._audit = audit

    def note(self, text: str) -> None:
        """Tell the operator something beyond the result (the face's `narrate`)."""
        self._narrate(text)

    # The audit trail

    @contextmanager
    def _audited(self, event: AuditEvent, secrets: Sequence[str] = ()) -> Iterator[_Recording]:
        """Record `event` once the operation inside has ended, however it ended: `done`
        with what the operation filled in, `refused` or `failed` with the error's line."""
        recording = _Recording(event)
        try:
            yield recording
        except Refused as refusal:
            recording.update(outcome="refused", detail=refusal.one_line())
            raise
        except KostyorError as failure:
            # A start that failed may have been saved all the same: its id is recorded.
            saved = failure.saved_upgrade_id or recording.event.upgrade_id
            recording.update(outcome="failed", detail=failure.one_line(), upgrade_id=saved)
            raise
        except KostyorTuiError as failure:
            recording.update(outcome="failed", detail=failure.one_line())
            raise
        except BaseException as failure:
            # A bug, or Ctrl-C: once sent, what became of it is not known.
            what = "interrupted" if isinstance(failure, KeyboardInterrupt) else "unexpected"
            unknown = " (sent: its outcome is unknown)" if recording.event.sent else ""
            recording.update(outcome="failed", detail=f"{what} {type(failure).__name__}{unknown}")
            raise
        finally:
            self._record(recording.event, secrets)

    def _record(self, event: AuditEvent, secrets: Sequence[str]) -> None:
        if self._audit is None:
            return
        detail = one_line(redact_urls(redact(event.detail, secrets)), _MAX_AUDIT_DETAIL)
        try:
            self._audit(replace(event, detail=detail))
        except OSError as error:
            self._narrate(
                f"could not write the audit trail: {error.strerror or type(error).__name__}"
                + (f" ({error.filename})" if error.filename else "")
            )

    # The one read-only guard.

    def guard(self, what: str) -> None:
        """Refuse `what` (which would change a cluster) in read-only mode."""
        if self.read_only:
            raise Refused(f"{what} refused: read-only mode is on", hint=self._read_only_hint)

    # Reading

    def resolve_cluster(self, name_or_id: str) -> Cluster:
        """The cluster with this id, else the one with this name.

        Raises NotFound listing the known names, or AmbiguousName listing the ids of
        every cluster with that name.
        """
        return _find_cluster(name_or_id, self.client.list_clusters())

    def read_cluster(self, cluster_id: str) -> ClusterReading:
        cluster = self.client.get_cluster(cluster_id)
        upgrades = tuple(self.client.list_upgrades(cluster_id))
        current = newest_upgrade(upgrades)
        if current is not None:
            current = with_status(current, cluster)
        return ClusterReading(cluster, upgrades, current)

    def current_upgrade(self, cluster_id: str) -> Upgrade | None:
        """The cluster's newest upgrade (status derived if null), if it ever had one."""
        upgrade = newest_upgrade(self.client.list_upgrades(cluster_id))
        if upgrade is None or upgrade.status is not Status.UNKNOWN:
            return upgrade
        return with_status(upgrade, self.client.get_cluster(cluster_id))

    def upgrade(self, upgrade_id: str) -> Upgrade:
        """One upgrade; a null status is derived from its cluster when it is the newest."""
        return self._derived(self.client.get_upgrade(upgrade_id))

    def resolve_upgrade(self, text: str) -> Upgrade:
        """The upgrade `text` names: an upgrade id, else a cluster (name or id: its newest
        upgrade), else a unique prefix of an upgrade id (at least `MIN_ID_PREFIX`
        characters). A null status is derived as `upgrade` does.

        Raises NotFound (naming what was tried) or AmbiguousName (a prefix several ids
        share, a name several clusters share, or a cluster's name that also starts the
        ids of other upgrades).
        """
        upgrades = self.client.list_upgrades()
        exact = [upgrade for upgrade in upgrades if upgrade.id == text]
        if exact:
            return self._derived(exact[0])
        clusters = self.client.list_clusters()
        try:
            cluster = _find_cluster(text, clusters)
        except NotFound:
            cluster = None
        prefixed = (
            [u for u in upgrades if u.id is not None and u.id.startswith(text)]
            if len(text) >= MIN_ID_PREFIX
            else []
        )
        if cluster is not None:
            newest = newest_upgrade([u for u in upgrades if u.cluster_id == cluster.id])
            others = [u for u in prefixed if newest is None or u.id != newest.id]
            if others and cluster.id != text:
                # A cluster's name that is also the start of an upgrade's id: either may
                # be meant, and guessing could show (or act on) the wrong upgrade.
                ids = ", ".join(upgrade.id or "?" for upgrade in others[:_MAX_IDS_LISTED])
                raise AmbiguousName(
                    f"{text!r} names cluster {label(cluster)} and starts the id of "
                    f"{len(others)} other upgrade(s): {ids}",
                    hint="give the cluster's id, or more of the upgrade's id",
                )
            if newest is None:
                raise NotFound(
                    f"Cluster {label(cluster)} has never had an upgrade",
                    hint="start one with upgrade-cluster",
                )
            return with_status(newest, cluster)
        if len(prefixed) == 1:
            return self._derived(prefixed[0])
        if prefixed:
            ids = ", ".join(upgrade.id or "?" for upgrade in prefixed[:_MAX_IDS_LISTED])
            raise AmbiguousName(
                f"{len(prefixed)} upgrades have ids starting with {text!r}: {ids}",
                hint="give more of the id",
            )
        short = "" if len(text) >= MIN_ID_PREFIX else f" (a prefix needs {MIN_ID_PREFIX}+)"
        raise NotFound(
            f"No upgrade with id or id prefix {text!r}{short}, and no cluster named or with "
            f"id {text!r}",
            hint="run list-upgrades or list-clusters",
        )

    def _derived(self, upgrade: Upgrade) -> Upgrade:
        """`upgrade` with a null status derived from its cluster, if it is the newest."""
        if upgrade.status is not Status.UNKNOWN or not upgrade.cluster_id:
            return upgrade
        current = self.read_cluster(upgrade.cluster_id).current
        return current if current is not None and current.id == upgrade.id else upgrade

    def upgrades(self, cluster_id: str | None = None) -> list[Upgrade]:
        upgrades = self.client.list_upgrades(cluster_id)
        if all(upgrade.status is not Status.UNKNOWN for upgrade in upgrades):
            return upgrades
        return with_derived_statuses(upgrades, self.client.list_clusters())

    # Starting an upgrade

    def start_upgrade(
        self,
        cluster: Cluster,
        to_version: str,
        *,
        engine: str | None = None,
        driver: str | None = None,
        parameters: Mapping[str, str] | None = None,
        force: bool = False,
    ) -> Upgrade:
        """Start an upgrade and return it as re-read from the server. Sent once."""
        event = AuditEvent(
            "start-upgrade",
            cluster.name,
            cluster.id,
            forced=force,
            to_version=to_version,
            parameters=tuple(sorted(parameters or {})),
        )
        with self._audited(event, secret_values(parameters)) as recording:
            upgrade = self._start_upgrade(
                cluster, to_version, engine, driver, parameters, force, recording
            )
            recording.update(
                upgrade_id=upgrade.id, detail=f"upgrade {upgrade.id}: {upgrade.status}"
            )
            return upgrade

    def _start_upgrade(
        self,
        cluster: Cluster,
        to_version: str,
        engine: str | None,
        driver: str | None,
        parameters: Mapping[str, str] | None,
        force: bool,
        recording: _Recording,
    ) -> Upgrade:
        name = label(cluster)
        self.guard(f"starting an upgrade of {name}")
        cluster_id = _id_of(cluster)
        reading = self.read_cluster(cluster_id)
        hosts = self.client.list_hosts(cluster_id)
        refusal = start_refusal(reading.status, reading.cluster.version, host_count=len(hosts))
        if refusal is not None and not force:
            raise Refused(
                f"Cannot start an upgrade of {name}: {refusal[1]}",
                hint=FORCE_HINT,
                forceable=True,
            )
        before = {upgrade.id for upgrade in reading.upgrades}
        recording.update(sent=True)
        try:
            created = self.client.create_upgrade(
                cluster_id, to_version, engine=engine, driver=driver, parameters=parameters
            )
        except KostyorError as failure:
            if not effect_unknown(failure):
                raise
            raise self._after_failed_start(failure, cluster_id, before) from None
        after = self.read_cluster(cluster_id)
        new = [upgrade for upgrade in after.upgrades if upgrade.id not in before]
        if created.id is not None:
            listed = [upgrade for upgrade in after.upgrades if upgrade.id == created.id]
            new = listed or new
        if not new:
            raise ProtocolError(
                f"Could not start the upgrade of {name}: the server answered, but lists no new "
                "upgrade",
                hint="run list-upgrades before trying again",
            )
        upgrade = newest_upgrade(new) or new[-1]
        if after.current is not None and after.current.id == upgrade.id:
            return after.current
        return upgrade

    def _after_failed_start(
        self, failure: KostyorError, cluster_id: str, before: set[str | None]
    ) -> KostyorError:
        """The upgrade may have been saved although the request failed
        (docs/kostyor-api.md#quirk-500-after-save, #quirk-engine-raises-after-save)."""

        def saved(reading: ClusterReading) -> Upgrade | None:
            created = [upgrade for upgrade in reading.upgrades if upgrade.id not in before]
            return newest_upgrade(created)

        reading, upgrade = self._reread(failure, cluster_id, saved)
        if upgrade is not None and reading is not None:
            saved_anyway = failure.restated(
                f"{failure.message}, but the upgrade was saved: {upgrade.id}, cluster "
                f"{label(reading.cluster)} is {reading.cluster.status}",
                hint="do not start it again (the server's task runner may be down: see its log)",
            )
            saved_anyway.saved_upgrade_id = upgrade.id
            return saved_anyway
        if reading is None:
            return failure.restated(
                failure.message,
                hint="could not re-read the cluster: run list-upgrades before trying again",
            )
        if failure.outcome_unknown:
            return failure.restated(
                f"{failure.message}; no new upgrade is listed yet, but the server may still "
                "be saving it",
                hint="run list-upgrades before trying again",
            )
        return failure.restated(
            f"{failure.message}; no upgrade was saved, cluster {label(reading.cluster)} is "
            f"{reading.cluster.status}",
            hint="safe to try again",
        )

    # Acting on an upgrade

    def act(self, cluster: Cluster, action: Action, *, force: bool = False) -> Upgrade:
        """Pause, continue, roll back or cancel the cluster's current upgrade; return it as
        re-read after the action. Sent once."""
        event = AuditEvent(str(action), cluster.name, cluster.id, forced=force)
        with self._audited(event) as recording:
            upgrade = self._act(cluster, action, force, recording)
            # What was told about where it landed, if anything, else the state re-read.
            detail = recording.event.detail or f"upgrade {upgrade.id}: {upgrade.status}"
            recording.update(upgrade_id=upgrade.id, detail=detail)
            return upgrade

    def _act(self, cluster: Cluster, action: Action, force: bool, recording: _Recording) -> Upgrade:
        if action not in LIFECYCLE:
            raise Refused(f"Unknown upgrade action {action!r}; actions: {', '.join(LIFECYCLE)}")
        name = label(cluster)
        self.guard(f"{action} of the upgrade of {name}")
        cluster_id = _id_of(cluster)
        reading = self.read_cluster(cluster_id)
        current = reading.current
        if current is None or current.id is None:
            # The real server answers 500 here (docs/kostyor-api.md#quirk-action-without-upgrade).
            raise NotFound(
                f"Cannot {action} the upgrade of cluster {name}: it has never had an upgrade",
                hint="start one with upgrade-cluster",
            )
        refusal = action_refusal(action, current.status)
        if refusal is not None and not force:
            raise Refused(
                f"Cannot {action} the upgrade of cluster {name}: {refusal}",
                hint=FORCE_HINT,
                forceable=True,
            )
        recording.update(upgrade_id=current.id, sent=True)
        try:
            self.client.act_on_upgrade(current.id, cluster_id, action)
        except KostyorError as failure:
            if not effect_unknown(failure):
                raise
            raise self._after_failed_action(failure, reading, action) from None
        after = self.read_cluster(cluster_id)
        if after.current is None:
            raise ProtocolError(
                f"Could not {action} the upgrade of {name}: the cluster lists no upgrade "
                "after the action",
                hint="run list-upgrades to check",
            )
        other = _acted_on_another(reading.upgrades, after.upgrades, current.id)
        told = None
        if other is not None:
            told = (
                f"the server recorded the {action} on an older upgrade of {name}, {other.id} "
                f"(now {other.raw_status or other.status}), not on its current one, "
                f"{current.id}; the cluster is now {after.cluster.status}"
            )
        elif _still_without_status(after.upgrades, current.id) and len(after.upgrades) > 1:
            # An action on an upgrade with no status gives it one, unless the server
            # recorded it on another, older one whose status was already that
            # (docs/kostyor-api.md#quirk-action-on-oldest).
            told = (
                f"the server recorded the {action} on an older upgrade of {name}, not on its "
                f"current one, {current.id}, which still has no status of its own; the "
                f"cluster is now {after.cluster.status}"
            )
        elif after.current.status is current.status and current.status is not (
            LIFECYCLE[action].leads_to
        ):
            told = (
                f"the server accepted the {action}, but upgrade {after.current.id} is still "
                f"{after.current.status}"
            )
        if told is not None:
            # The operator is told, and the audit trail says the same: the re-read state
            # alone would credit the action to the current upgrade.
            self._narrate(told)
            recording.update(detail=told)
        return after.current

    def _after_failed_action(
        self, failure: KostyorError, before: ClusterReading, action: Action
    ) -> KostyorError:
        assert before.current is not None
        was = before.current.status
        leads_to = LIFECYCLE[action].leads_to

        def moved(reading: ClusterReading) -> Upgrade | None:
            current = reading.current
            return current if current is not None and current.status is not was else None

        reading, upgrade = self._reread(failure, before.cluster.id or "", moved)
        if reading is None:
            return failure.restated(
                failure.message, hint="could not re-read the upgrade: check it before retrying"
            )
        current = reading.current
        if upgrade is not None and upgrade.status is leads_to:
            outcome = f"but the {action} took effect: upgrade {upgrade.id} is now {leads_to}"
        elif upgrade is not None:
            outcome = f"afterwards the upgrade {upgrade.id} is {upgrade.status}"
        elif failure.outcome_unknown:
            outcome = (
                f"the upgrade {current.id if current else '?'} is still {was} for now, but the "
                "server may still apply it"
            )
        else:
            outcome = f"and the upgrade {current.id if current else '?'} is still {was}"
        return failure.restated(f"{failure.message}, {outcome}", hint="check before retrying")

    # Discovering a cluster

    def discover(
        self,
        method: str,
        name: str,
        parameters: Mapping[str, str] | None = None,
        *,
        allow_duplicate: bool = False,
    ) -> Cluster:
        """Run discovery on the server and return the new cluster. Sent once. The values of
        secret parameters (a password) never appear in an error or the audit trail."""
        secrets = secret_values(parameters)
        event = AuditEvent("discover", name, parameters=tuple(sorted(parameters or {})))
        with self._audited(event, secrets) as recording:
            try:
                cluster = self._discover(method, name, parameters, allow_duplicate, recording)
            except KostyorTuiError as failure:
                if not secrets:
                    raise
                raise failure.restated(
                    redact(failure.message, secrets),
                    hint=redact(failure.hint, secrets) if failure.hint else None,
                ) from None
            recording.update(
                cluster_id=cluster.id,
                detail=f"cluster {cluster.name} ({cluster.id}): {cluster.status}, "
                f"version {cluster.version or 'unknown'}",
            )
            return cluster

    def _discover(
        self,
        method: str,
        name: str,
        parameters: Mapping[str, str] | None,
        allow_duplicate: bool,
        recording: _Recording,
    ) -> Cluster:
        self.guard(f"discovery of {name}")
        clusters = self.client.list_clusters()
        same_name = [cluster for cluster in clusters if cluster.name == name]
        if same_name and not allow_duplicate:
            ids = ", ".join(cluster.id or "?" for cluster in same_name)
            raise Refused(
                f"A cluster named {name!r} already exists ({ids}): a second one would make "
                "the name ambiguous",
                hint="choose another name, or pass --allow-duplicate",
            )
        known_before = {cluster.id for cluster in clusters}
        recording.update(sent=True)
        try:
            return self.client.discover_cluster(method, name, parameters)
        except KostyorError as failure:
            if not effect_unknown(failure):
                raise
            raise self._after_failed_discovery(
                failure, name, known_before, method, parameters or {}
            ) from None

    def _after_failed_discovery(
        self,
        failure: KostyorError,
        name: str,
        known_before: set[str | None],
        method: str,
        parameters: Mapping[str, str],
    ) -> KostyorError:
        def created(reading: list[Cluster]) -> Cluster | None:
            new = [c for c in reading if c.id not in known_before and c.name == name]
            return new[-1] if new else None

        clusters, cluster = self._reread_clusters(failure, created)
        if cluster is not None:
            return failure.restated(
                f"{failure.message}, but the cluster was created: {cluster.name} "
                f"({cluster.id}), version {cluster.version or 'unknown'}",
                hint="do not discover it again",
            )
        if clusters is None:
            return failure.restated(
                failure.message, hint="could not re-read the clusters: check before retrying"
            )
        if failure.outcome_unknown:
            return failure.restated(
                f"{failure.message}; no cluster {name!r} is listed yet, but discovery may "
                "still be running on the server",
                hint="run list-clusters before trying again",
            )
        sent = ", ".join(sorted(parameters)) or "none"
        hint = "the cause is in the Kostyor server's log; it will fail the same way until fixed"
        if method == "openstack-ansible" and parameters:
            # docs/kostyor-api.md#quirk-discovery-parameters
            hint = (
                "the real server's openstack-ansible method takes no parameters (it reads "
                "Ansible's configured inventory): try without them"
            )
        return failure.restated(
            f"{failure.message}; no cluster was created (method {method}, parameters sent: {sent})",
            hint=hint,
        )

    # Re-reading after a failure whose effect is unknown

    def _reread(
        self,
        failure: KostyorError,
        cluster_id: str,
        settled: Callable[[ClusterReading], Upgrade | None],
    ) -> tuple[ClusterReading | None, Upgrade | None]:
        """Read the cluster until `settled` finds what the failed request would have done:
        once for a failure the server answered, up to `Recheck.attempts` times for one
        that got no answer (the server may still be working on it)."""
        reading: ClusterReading | None = None
        attempts = self._recheck.attempts if failure.outcome_unknown else 1
        for attempt in range(attempts):
            if attempt:
                self._sleep(self._recheck.interval)
            try:
                reading = self.read_cluster(cluster_id)
            except KostyorError:
                continue
            found = settled(reading)
            if found is not None:
                return reading, found
        return reading, None

    def _reread_clusters(
        self, failure: KostyorError, settled: Callable[[list[Cluster]], Cluster | None]
    ) -> tuple[list[Cluster] | None, Cluster | None]:
        clusters: list[Cluster] | None = None
        attempts = self._recheck.attempts if failure.outcome_unknown else 1
        for attempt in range(attempts):
            if attempt:
                self._sleep(self._recheck.interval)
            try:
                clusters = self.client.list_clusters()
            except KostyorError:
                continue
            found = settled(clusters)
            if found is not None:
                return clusters, found
        return clusters, None


def _find_cluster(name_or_id: str, clusters: Sequence[Cluster]) -> Cluster:
    """The cluster with this id, else the one with this name (NotFound, AmbiguousName)."""
    for cluster in clusters:
        if cluster.id == name_or_id:
            return _with_id(cluster)
    named = [cluster for cluster in clusters if cluster.name == name_or_id]
    if len(named) == 1:
        return _with_id(named[0])
    if named:
        ids = ", ".join(cluster.id or "?" for cluster in named)
        raise AmbiguousName(
            f"{len(named)} clusters are named {name_or_id!r}: {ids}",
            hint="pass the cluster's id instead of its name",
        )
    raise unknown_cluster(name_or_id, clusters)


def _id_of(cluster: Cluster) -> str:
    if cluster.id is None:
        raise ProtocolError(f"the server sent cluster {cluster.name!r} without an id")
    return cluster.id


def _with_id(cluster: Cluster) -> Cluster:
    _id_of(cluster)
    return cluster


def _still_without_status(upgrades: Sequence[Upgrade], upgrade_id: str | None) -> bool:
    return any(u.id == upgrade_id and u.raw_status is None for u in upgrades)


def _acted_on_another(
    before: Sequence[Upgrade], after: Sequence[Upgrade], current_id: str | None
) -> Upgrade | None:
    """The other upgrade an action changed, when it left the current one alone
    (docs/kostyor-api.md#quirk-action-on-oldest)."""
    status_before = {upgrade.id: upgrade.raw_status for upgrade in before}
    changed = [
        upgrade
        for upgrade in after
        if upgrade.id in status_before and upgrade.raw_status != status_before[upgrade.id]
    ]
    if not changed or any(upgrade.id == current_id for upgrade in changed):
        return None
    return changed[0]
