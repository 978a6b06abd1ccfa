"""The Kostyor REST API, one method per endpoint (docs/kostyor-api.md#resources).

Synchronous and safe to share between threads; every method raises only
`kostyor_tui.api.errors`. Answers are validated into the models straight from
their bytes. The wire quirks of the real server are handled here
(docs/kostyor-api.md#quirks): lists may come wrapped, an unknown id may be
answered with a 500 or an HTML page, `?cluster_id=` may be ignored. What an
operator's action means, and what to do when it fails, is
`kostyor_tui.operations`' business, not this module's.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from kostyor_tui.api import models
from kostyor_tui.api.errors import KostyorError, NotFound, ProtocolError, ServerError
from kostyor_tui.api.transport import (
    MAX_ANSWER_BYTES,
    Answer,
    Debug,
    TokenRefresh,
    Transport,
    segment,
    server_text,
)

T = TypeVar("T")

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade

_MAX_NAMES_LISTED = 20
_SMALL_ANSWER = 4096
_REMEMBERED_LISTS = 16
# A list answer longer than this is validated in pieces of about this size: pydantic parses
# the bytes it is given into a tree of its own before validating, and holds the interpreter
# lock for long stretches meanwhile (150,000 instances in a 12 MB answer, validated at
# once: the peak grew 91 MB, the lock held up to 25-45 ms at a time; in pieces: 33 MB, the
# instances themselves, and a few ms).
LIST_PIECE_BYTES = 512 * 1024
# Between two objects of a JSON array (see `validate_list`); JSON's whitespace only, not
# all that `bytes.strip` and `\s` take.
_JSON_WHITESPACE = b" \t\n\r"
_BETWEEN_OBJECTS = re.compile(rb"}[ \t\n\r]*,[ \t\n\r]*{")


def unknown_cluster(name_or_id: str, clusters: Sequence[Cluster]) -> NotFound:
    """ "Not found", listing the clusters that do exist."""
    names = sorted({cluster.name or cluster.id or "?" for cluster in clusters})
    if not names:
        known = "the server knows no cluster yet"
    else:
        shown = ", ".join(names[:_MAX_NAMES_LISTED])
        more = len(names) - _MAX_NAMES_LISTED
        known = f"known clusters: {shown}" + (f" and {more} more" if more > 0 else "")
    return NotFound(
        f"No cluster named or with id {name_or_id!r}; {known}",
        hint="run list-clusters" if names else "discover one with discover-cluster",
    )


class KostyorClient:
    """One per process (or per endpoint)."""

    def __init__(
        self,
        api_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        token_refresh: TokenRefresh | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        discovery_timeout: float = 600.0,
        max_connections: int = 4,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        debug: Debug | None = None,
    ) -> None:
        self._transport = Transport(
            api_url,
            username=username,
            password=password,
            token=token,
            token_refresh=token_refresh,
            verify=verify,
            timeout=timeout,
            max_connections=max_connections,
            max_answer_bytes=max_answer_bytes,
            debug=debug,
        )
        self.api_url = self._transport.api_url
        self.timeout = timeout
        # Discovery runs synchronously on the server (docs/kostyor-api.md#quirk-slow-discovery).
        self.discovery_timeout = max(discovery_timeout, timeout)
        # Per list request, the last answer's fingerprint and what it validated to: the
        # console re-reads lists of tens of thousands of instances at every poll, mostly
        # unchanged. `validations` counts the answers validated (not found unchanged).
        self._last_lists: dict[
            tuple[str, tuple[tuple[str, str], ...]], tuple[bytes, tuple[Any, ...]]
        ] = {}
        # The console's poller and its commands' workers share one client.
        self._last_lists_lock = threading.Lock()
        self.validations = 0

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> KostyorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Parsing answers

    def _parse(self, adapter: TypeAdapter[T], answer: Answer, noun: str) -> T:
        try:
            return adapter.validate_json(answer.body)
        except ValidationError:
            pass
        return self._parse_data(adapter, answer.json(), answer.what, noun)

    @staticmethod
    def _parse_data(adapter: TypeAdapter[T], data: Any, what: str, noun: str) -> T:
        try:
            return adapter.validate_python(data)
        except ValidationError as exc:
            where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "top level"
            raise ProtocolError(
                f"Could not {what}: the server's answer is not {noun} (at {server_text(where)})",
                hint="check that api_url points at the Kostyor API",
            ) from None
        except RecursionError:
            raise ProtocolError(
                f"Could not {what}: the server's answer is not {noun} (nested too deeply)",
                hint="check that api_url points at the Kostyor API",
            ) from None

    def _list(
        self,
        path: str,
        key: str,
        adapter: TypeAdapter[list[T]],
        what: str,
        params: Mapping[str, str] | None = None,
    ) -> list[T]:
        """A list, also from older servers that wrap it: `{"clusters": [...]}`
        (docs/kostyor-api.md#quirk-wrapped-lists). Ids must be unique. An answer the same,
        byte for byte, as the last one to this request gives the same objects again."""
        answer = self._transport.request("GET", path, what=what, params=params)
        request = (path, tuple(sorted(params.items())) if params else ())
        fingerprint = _fingerprint(answer.body)
        with self._last_lists_lock:
            last = self._last_lists.get(request)
            if last is not None and last[0] == fingerprint:
                return list(last[1])
            self.validations += 1
        noun = f"a list of {key}"
        try:
            items = validate_list(adapter, answer.body)
        except ValidationError:
            data = answer.json()
            if isinstance(data, dict) and isinstance(data.get(key), list):
                data = data[key]
            items = self._parse_data(adapter, data, what, noun)
        _check_unique_ids(items, what)
        # The most recent requests only: a console browsing many clusters keeps only
        # the last ones' lists (and step log reads, each `?since=` a new request, churn).
        with self._last_lists_lock:
            self._last_lists.pop(request, None)
            self._last_lists[request] = (fingerprint, tuple(items))
            while len(self._last_lists) > _REMEMBERED_LISTS:
                del self._last_lists[next(iter(self._last_lists))]
        return items

    def forget_cluster(self, cluster_id: str) -> None:
        """Forget the last answers to a cluster's lists (kept to find the next ones the
        same): the console watches it no more, and its instances are to be freed."""
        prefix = f"clusters/{segment(cluster_id)}/"
        with self._last_lists_lock:
            for request in [r for r in self._last_lists if r[0].startswith(prefix)]:
                del self._last_lists[request]

    def _checking_cluster(self, cluster_id: str, call: Callable[[], T]) -> T:
        """Run `call`; if it fails as an unknown id might, check the id against GET /clusters:
        the real server answers an unknown id with a 500 or an HTML page
        (docs/kostyor-api.md#quirk-unknown-ids), and "not found" is the truth then."""
        try:
            return call()
        except (ServerError, ProtocolError, NotFound) as failure:
            try:
                clusters = self.list_clusters()
            except KostyorError:
                raise failure from None
            if not any(cluster.id == cluster_id for cluster in clusters):
                raise unknown_cluster(cluster_id, clusters) from None
            raise

    # Clusters

    def list_clusters(self) -> list[Cluster]:
        return self._list(
            "clusters", "clusters", models.adapter(list[models.Cluster]), "list clusters"
        )

    def get_cluster(self, cluster_id: str) -> Cluster:
        what = f"read cluster {cluster_id}"

        def call() -> Cluster:
            answer = self._transport.request("GET", f"clusters/{segment(cluster_id)}", what=what)
            return self._parse(models.adapter(models.Cluster), answer, "a cluster")

        return self._checking_cluster(cluster_id, call)

    def list_hosts(self, cluster_id: str) -> list[Host]:
        what = f"list the hosts of cluster {cluster_id}"
        path = f"clusters/{segment(cluster_id)}/hosts"
        return self._checking_cluster(
            cluster_id, lambda: self._list(path, "hosts", models.adapter(list[models.Host]), what)
        )

    def list_services(self, cluster_id: str) -> list[Service]:
        what = f"list the services of cluster {cluster_id}"
        path = f"clusters/{segment(cluster_id)}/services"
        return self._checking_cluster(
            cluster_id,
            lambda: self._list(path, "services", models.adapter(list[models.Service]), what),
        )

    # Discovery

    def list_discovery_methods(self) -> list[str]:
        answer = self._transport.request(
            "GET", "clusters/discover", what="list the discovery methods"
        )
        data = answer.json()
        if isinstance(data, dict) and isinstance(data.get("methods"), list):
            data = data["methods"]
        return self._parse_data(
            models.adapter(list[str]), data, answer.what, "a list of method names"
        )

    def discover_cluster(
        self, method: str, name: str, parameters: Mapping[str, str] | None = None
    ) -> Cluster:
        """POST /clusters/discover, once. Slow on the server: the discovery timeout applies."""
        answer = self._transport.request(
            "POST",
            "clusters/discover",
            what=f"discover cluster {name!r} with method {method!r}",
            json_body={"name": name, "method": method, "parameters": dict(parameters or {})},
            timeout=self.discovery_timeout,
        )
        return self._parse(models.adapter(models.Cluster), answer, "a cluster")

    # Versions

    def list_upgrade_versions(self, cluster_id: str) -> list[str]:
        what = f"list the upgrade versions of cluster {cluster_id}"
        path = f"upgrade-versions/{segment(cluster_id)}"
        return self._checking_cluster(
            cluster_id,
            lambda: self._parse(
                models.adapter(list[str]),
                self._transport.request("GET", path, what=what),
                "a list of versions",
            ),
        )

    def list_all_versions(self) -> list[str]:
        answer = self._transport.request(
            "GET", "list-upgrade-versions", what="list the known releases"
        )
        return self._parse(models.adapter(list[str]), answer, "a list of versions")

    # Upgrades

    def list_upgrades(self, cluster_id: str | None = None) -> list[Upgrade]:
        """Every upgrade, or the given cluster's, in the server's order. The real server
        ignores `?cluster_id=` (docs/kostyor-api.md#quirk-cluster-filter-ignored): it is
        sent for servers that honour it, and the answer is filtered here either way."""
        what = "list upgrades" if cluster_id is None else f"list the upgrades of {cluster_id}"
        params = {"cluster_id": cluster_id} if cluster_id is not None else None
        upgrades = self._list(
            "upgrades", "upgrades", models.adapter(list[models.Upgrade]), what, params
        )
        if cluster_id is None:
            return upgrades
        return [upgrade for upgrade in upgrades if upgrade.cluster_id == cluster_id]

    def get_upgrade(self, upgrade_id: str) -> Upgrade:
        """One upgrade, as the server has it (its status may be null)."""
        what = f"read upgrade {upgrade_id}"
        try:
            answer = self._transport.request("GET", f"upgrades/{segment(upgrade_id)}", what=what)
            return self._parse(models.adapter(models.Upgrade), answer, "an upgrade")
        except (ServerError, ProtocolError, NotFound) as failure:
            # An unknown id gets a 500 from the real server
            # (docs/kostyor-api.md#quirk-unknown-ids): the list tells.
            try:
                upgrades = self.list_upgrades()
            except KostyorError:
                raise failure from None
            found = [upgrade for upgrade in upgrades if upgrade.id == upgrade_id]
            if not found:
                raise NotFound(
                    f"No upgrade with id {upgrade_id!r}",
                    hint="run list-upgrades to see the known ones",
                ) from None
            return found[0]

    def create_upgrade(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str | None = None,
        driver: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> Upgrade:
        """POST /upgrades, once. The answer is returned as it is (the real server leaves the
        status null: docs/kostyor-api.md#quirk-null-upgrade-status)."""
        body: dict[str, Any] = {"cluster_id": cluster_id, "to_version": to_version}
        if engine is not None:
            body["engine"] = engine
        if driver is not None:
            body["driver"] = driver
        if parameters:
            body["parameters"] = dict(parameters)
        answer = self._transport.request(
            "POST",
            "upgrades",
            what=f"start the upgrade of cluster {cluster_id} to {to_version}",
            json_body=body,
        )
        return self._parse(models.adapter(models.Upgrade), answer, "an upgrade")

    def act_on_upgrade(self, upgrade_id: str, cluster_id: str, action: str) -> None:
        """PUT /upgrades/{id}, once. Its answer is not read: the real server's says nothing
        reliable (docs/kostyor-api.md#quirk-action-on-oldest), so callers re-read."""
        self._transport.request(
            "PUT",
            f"upgrades/{segment(upgrade_id)}",
            what=f"{action} the upgrade of cluster {cluster_id}",
            json_body={"cluster_id": cluster_id, "action": action},
        )

    def upgrade_steps(self, upgrade_id: str, since: int = 0) -> list[Step] | None:
        """The engine's step log after its first `since` entries, or None when the server
        keeps none (the real server: the path is unknown to it)."""
        what = f"read the steps of upgrade {upgrade_id}"
        path = f"upgrades/{segment(upgrade_id)}/steps" + (f"?since={since}" if since else "")
        try:
            return self._list(path, "steps", models.adapter(list[models.Step]), what)
        except NotFound:
            return None


def validate_list(adapter: TypeAdapter[list[T]], body: bytes) -> list[T]:
    """`adapter.validate_json(body)`; a long JSON array of objects in pieces of whole
    objects (`LIST_PIECE_BYTES`), so that pydantic never parses the whole answer into a
    tree of its own, nor holds the interpreter lock long in one call.

    A piece ends where the bytes read `},{` (spaces allowed). Such a cut inside a string
    or a nested value leaves a piece that is not JSON (a string or a bracket left open),
    and the whole answer is then validated at once: when every piece validates, every cut
    was between two of the array's objects, and the items are the whole answer's."""
    # The array's brackets, found without copying the body (stripping it would).
    first, last = 0, len(body) - 1
    while first < last and body[first] in _JSON_WHITESPACE:
        first += 1
    while last > first and body[last] in _JSON_WHITESPACE:
        last -= 1
    brackets = body[first : first + 1] + body[last : last + 1]
    if last - first < LIST_PIECE_BYTES or brackets != b"[]":
        return adapter.validate_json(body)
    items: list[T] = []
    start, end = first + 1, last  # the objects, between the brackets
    while start < end:
        cut = _BETWEEN_OBJECTS.search(body, start + LIST_PIECE_BYTES, end)
        stop = cut.start() + 1 if cut else end
        try:
            items.extend(adapter.validate_json(b"[" + body[start:stop] + b"]"))
        except ValidationError:
            return adapter.validate_json(body)
        start = cut.end() - 1 if cut else end
    return items


def _fingerprint(body: bytes) -> bytes:
    """What tells two answers apart: a small one itself, a big one's digest (so that the
    last answers to the console's big reads are not kept twice in memory)."""
    if len(body) <= _SMALL_ANSWER:
        return body
    import hashlib

    return hashlib.blake2b(body, digest_size=32).digest()


def _check_unique_ids(items: Sequence[Any], what: str) -> None:
    """A list that names one id twice is not the API: which of the two would be true?"""
    seen: set[object] = set()
    for item in items:
        item_id = getattr(item, "id", None)
        if item_id is None:
            continue
        if item_id in seen:
            raise ProtocolError(
                f"Could not {what}: the server listed id {server_text(str(item_id), 80)!r} twice",
                hint="the server's data is inconsistent: see its log",
            )
        seen.add(item_id)
