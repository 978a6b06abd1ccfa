"""The typed async client for the Kostyor REST API.

One `httpx.AsyncClient` per `KostyorClient`, with a small bounded pool (the
real server is often a single-threaded development server). Every httpx
exception and every unexpected answer is mapped here, once, into
`kostyor_tui.api.errors`; nothing above this module sees httpx.

The real server's quirks (contract section 3) are handled here too: unknown
ids answered with 500 are checked against `GET /clusters`, `?cluster_id=` is
filtered on the client, a null upgrade status is derived from the cluster,
actions are checked before sending and their answers are never trusted (state
is re-read), and a POST or PUT is never retried: after a failure the client
re-reads the state and says what actually happened.
"""

import asyncio
import json
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from kostyor_tui import __version__
from kostyor_tui.api.errors import (
    ActionRefused,
    AmbiguousName,
    AuthFailed,
    InvalidSettings,
    KostyorError,
    NotFound,
    ProtocolError,
    Rejected,
    ServerError,
    TimedOut,
    Unreachable,
)
from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.domain.lifecycle import (
    ACTIONS,
    allowed_actions,
    effective_status,
    newest_upgrade,
    start_refusal,
)
from kostyor_tui.domain.statuses import Status

UpgradeAction = Literal["pause", "continue", "rollback", "cancel"]

T = TypeVar("T")

_CLUSTERS = TypeAdapter(list[Cluster])
_HOSTS = TypeAdapter(list[Host])
_SERVICES = TypeAdapter(list[Service])
_UPGRADES = TypeAdapter(list[Upgrade])
_NAMES = TypeAdapter(list[str])
_CLUSTER = TypeAdapter(Cluster)
_UPGRADE = TypeAdapter(Upgrade)

# What each action leads to, to tell after a failed PUT whether it took effect.
_ACTION_RESULT = {
    "pause": Status.PAUSED,
    "continue": Status.IN_PROGRESS,
    "rollback": Status.ROLLBACK_IN_PROGRESS,
    "cancel": Status.CANCELLED,
}

_MAX_NAMES_LISTED = 20
_MAX_SERVER_TEXT = 300


def _segment(value: str) -> str:
    """An id as one URL path segment: a `/` or `?` in it must not change the path."""
    return quote(str(value), safe="")


def _one_line(text: str, limit: int = _MAX_SERVER_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe_body(response: httpx.Response) -> str:
    """A short description of a body that is not the expected JSON, for a message."""
    content = response.content
    if not content.strip():
        return "an empty body"
    text = content[:4096].decode("utf-8", errors="replace")
    if "<html" in text.lower() or "<!doctype" in text.lower() or "<title" in text.lower():
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return f'an HTML page "{_one_line(title.group(1), 80)}"' if title else "an HTML page"
    return f"non-JSON text {_one_line(text, 80)!r}"


def _decode_json(response: httpx.Response) -> tuple[bool, Any]:
    try:
        return True, json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False, None


def _server_message(body: Any) -> tuple[str | None, dict[str, list[str]]]:
    """The server's `message` and `errors` fields, whatever their exact shape."""
    if not isinstance(body, dict):
        return None, {}
    message = body.get("message")
    message = _one_line(str(message)) if message not in (None, "") else None
    field_errors: dict[str, list[str]] = {}
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            field_errors[str(field)] = [_one_line(str(item), 120) for item in items]
    return message, field_errors


def _unwrap(data: Any, key: str) -> Any:
    """A list, or the list under `key` (older servers wrapped lists: `{"clusters": [...]}`)."""
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    return data


def _tls_verify_failure(exc: BaseException) -> str | None:
    """The certificate problem behind a failed connection, or None if it was something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        current = current.__cause__ or current.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "certificate verify failed"
    return None


def _tls_failure(exc: BaseException) -> bool:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return False


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx's `verify`: a bool, or an SSL context trusting the CA bundle at that path."""
    if isinstance(verify, bool):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidSettings(
            f"Cannot use the CA bundle {verify}: {_one_line(reason, 120)}",
            hint="ca_bundle must be a PEM file of CA certificates",
        ) from None


class KostyorClient:
    """One per process. Every method raises only `kostyor_tui.api.errors` types."""

    def __init__(
        self,
        api_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        discovery_timeout: float = 600.0,
        max_connections: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        try:
            url = httpx.URL(api_url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise InvalidSettings(
                f"The API URL is not a valid URL: {_one_line(str(exc), 120)}",
                hint="api_url looks like https://kostyor.example:5000/",
            ) from None
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidSettings(
                "The API URL must be an http:// or https:// URL with a host",
                hint="api_url looks like https://kostyor.example:5000/",
            )
        # Credentials written into the URL become Basic auth and leave the URL,
        # so that no message ever shows them.
        if username is None and url.username:
            username, password = url.username, url.password
        url = url.copy_with(username=None, password=None, query=None, fragment=None)
        self.api_url = str(url)
        self.timeout = timeout
        self.discovery_timeout = discovery_timeout
        self._secrets = tuple(secret for secret in (password, token) if secret)

        headers = {"Accept": "application/json", "User-Agent": f"kostyor-tui/{__version__}"}
        if token:
            headers["X-Auth-Token"] = token
        limits = max(1, max_connections)
        self._slots = asyncio.Semaphore(limits)
        self._http = httpx.AsyncClient(
            base_url=url,
            auth=httpx.BasicAuth(username, password or "") if username else None,
            headers=headers,
            # Plain http never uses TLS (redirects are not followed): skip loading
            # the CA store, a noticeable part of a headless command's start-up.
            verify=_ssl_verify(verify) if url.scheme == "https" else False,
            # Waiting for a free connection is bounded by the semaphore and the
            # other requests' own timeouts, not by a pool timeout of its own.
            timeout=httpx.Timeout(timeout, pool=None),
            limits=httpx.Limits(max_connections=limits, max_keepalive_connections=limits),
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "KostyorClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # The one place requests are sent and errors mapped.

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        want_body: bool = True,
    ) -> Any:
        """Send one request and return the decoded JSON of a 2xx answer.

        `what` completes "Could not ..." in error messages. With `want_body`
        False a 2xx answer's body is ignored (the real server's PUT answer is
        not worth reading, and a garbled one must not hide that it succeeded).
        """
        effective_timeout = timeout if timeout is not None else self.timeout
        async with self._slots:
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json_body,
                    params=params,
                    timeout=httpx.Timeout(effective_timeout, pool=None),
                )
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, what, effective_timeout) from None
        return self._answer(response, method, path, what, want_body)

    def _transport_error(self, exc: httpx.HTTPError, what: str, timeout: float) -> KostyorError:
        where = self.api_url
        if isinstance(exc, httpx.ConnectTimeout):
            return TimedOut(
                f"Could not {what}: no connection to {where} within {timeout:g} s",
                hint="check api_url and the network, or raise the timeout",
            )
        if isinstance(exc, httpx.TimeoutException):
            error = TimedOut(
                f"Could not {what}: {where} did not answer within {timeout:g} s",
                hint="it may still take effect: check before retrying, or raise the timeout",
            )
            error.outcome_unknown = True
            return error
        if isinstance(exc, httpx.ConnectError):
            problem = _tls_verify_failure(exc)
            if problem is not None:
                return Unreachable(
                    f"Could not {what}: TLS certificate verification failed for {where} "
                    f"({_one_line(self._redact(problem), 120)})",
                    hint="set ca_bundle to the CA that signed the server's certificate, "
                    "or use --insecure to skip verification",
                )
            if _tls_failure(exc):
                return Unreachable(
                    f"Could not {what}: TLS handshake with {where} failed "
                    f"({_one_line(self._redact(str(exc)), 120)})",
                    hint="check that the server speaks https at that address",
                )
            # "[Errno 111] Connection refused" reads better without its errno.
            reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
            return Unreachable(
                f"Could not {what}: cannot connect to {where} ({_one_line(self._redact(reason))})",
                hint="check api_url and that the Kostyor server is running",
            )
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            # The request may have been sent: the connection broke before an answer.
            if isinstance(exc, httpx.RemoteProtocolError) and "disconnect" not in str(exc):
                return ProtocolError(
                    f"Could not {what}: {where} did not answer in HTTP "
                    f"({_one_line(self._redact(str(exc)), 120)})",
                    hint="check that api_url points at the Kostyor API",
                )
            error = Unreachable(
                f"Could not {what}: the connection to {where} broke before an answer "
                f"({_one_line(self._redact(str(exc) or type(exc).__name__), 120)})",
                hint="it may still take effect: check the state before retrying",
            )
            error.outcome_unknown = True
            return error
        if isinstance(exc, httpx.ProxyError):
            return Unreachable(
                f"Could not {what}: the HTTP proxy refused the connection to {where} "
                f"({_one_line(self._redact(str(exc)), 120)})",
                hint="check HTTPS_PROXY / NO_PROXY",
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return InvalidSettings(f"Could not {what}: unusable API URL {where}")
        return ProtocolError(
            f"Could not {what}: {type(exc).__name__} ({_one_line(self._redact(str(exc)), 120)})",
        )

    def _answer(
        self, response: httpx.Response, method: str, path: str, what: str, want_body: bool
    ) -> Any:
        status = response.status_code
        is_json, body = _decode_json(response)
        message, field_errors = _server_message(body) if is_json else (None, {})
        said = f": {self._redact(message)}" if message else ""

        if 200 <= status < 300:
            if not want_body:
                return None
            if not is_json:
                raise ProtocolError(
                    f"Could not {what}: the server answered {_describe_body(response)} "
                    "instead of JSON",
                    hint="check that api_url points at the Kostyor API",
                )
            return body
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            try:
                location = str(httpx.URL(location).copy_with(username=None, password=None))
            except httpx.InvalidURL:
                location = ""
            target = f" to {location}" if location else ""
            raise ProtocolError(
                f"Could not {what}: the server redirected ({status}){target}",
                hint="set api_url to the address the API really lives at",
            )
        if status in (401, 403):
            raise AuthFailed(
                f"Could not {what}: authentication failed ({status}){said}",
                hint="check username and password, or the token "
                "(KOSTYOR_USERNAME, KOSTYOR_PASSWORD, KOSTYOR_TOKEN)",
            )
        if status == 404:
            if is_json:
                raise NotFound(f"Could not {what}: not found{said}")
            raise NotFound(
                f"Could not {what}: the server has no {method} /{path.lstrip('/')} "
                f"(404, {_describe_body(response)})",
                hint="check api_url, including any path prefix",
            )
        if status == 405:
            raise ProtocolError(
                f"Could not {what}: the server does not accept {method} "
                f"/{path.lstrip('/')} (405){said}",
                hint="check that api_url points at a Kostyor API this client supports",
            )
        if 400 <= status < 500:
            detail = message or (
                f"{response.reason_phrase or 'refused'}"
                + ("" if is_json else f", {_describe_body(response)}")
            )
            raise Rejected(
                f"Could not {what}: the server refused it ({status}): {self._redact(detail)}",
                status_code=status,
                field_errors={k: [self._redact(p) for p in v] for k, v in field_errors.items()},
            )
        body_text = said if is_json else f", {_describe_body(response)}"
        raise ServerError(
            f"Could not {what}: the server answered {status}{body_text}",
            status_code=status,
            hint="see the Kostyor server's log",
        )

    def _parse(self, adapter: TypeAdapter[T], data: Any, what: str, noun: str) -> T:
        try:
            return adapter.validate_python(data)
        except ValidationError as exc:
            where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "top level"
            raise ProtocolError(
                f"Could not {what}: the server's answer is not {noun} (at {where})",
                hint="check that api_url points at the Kostyor API",
            ) from None

    async def _get_list(self, path: str, key: str, adapter: TypeAdapter[T], what: str) -> T:
        data = await self._request("GET", path, what=what)
        return self._parse(adapter, _unwrap(data, key), what, f"a list of {key}")

    async def _checking_cluster(self, cluster_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; if it fails as an unknown id might, check the id against GET /clusters.

        The real server answers an unknown cluster id with a 500, or an HTML
        page (quirk 2): "not found" is the truth to report then.
        """
        try:
            return await call()
        except (ServerError, ProtocolError, NotFound) as failure:
            try:
                clusters = await self.list_clusters()
            except KostyorError:
                raise failure from None
            if not any(cluster.id == cluster_id for cluster in clusters):
                raise self._unknown_cluster(cluster_id, clusters) from None
            raise

    @staticmethod
    def _unknown_cluster(name_or_id: str, clusters: Sequence[Cluster]) -> NotFound:
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

    # Clusters

    async def list_clusters(self) -> list[Cluster]:
        return await self._get_list("clusters", "clusters", _CLUSTERS, "list clusters")

    async def get_cluster(self, cluster_id: str) -> Cluster:
        what = f"read cluster {cluster_id}"

        async def call() -> Cluster:
            data = await self._request("GET", f"clusters/{_segment(cluster_id)}", what=what)
            return self._parse(_CLUSTER, data, what, "a cluster")

        return await self._checking_cluster(cluster_id, call)

    async def resolve_cluster(self, name_or_id: str) -> Cluster:
        """The cluster with this id, else the one with this name.

        Raises NotFound listing the known names, or AmbiguousName listing the
        ids of every cluster with that name.
        """
        clusters = await self.list_clusters()
        for cluster in clusters:
            if cluster.id == name_or_id:
                return cluster
        named = [cluster for cluster in clusters if cluster.name == name_or_id]
        if len(named) == 1:
            return named[0]
        if named:
            ids = ", ".join(cluster.id or "?" for cluster in named)
            raise AmbiguousName(
                f"{len(named)} clusters are named {name_or_id!r}: {ids}",
                hint="pass the cluster's id instead of its name",
            )
        raise self._unknown_cluster(name_or_id, clusters)

    async def list_hosts(self, cluster_id: str) -> list[Host]:
        what = f"list the hosts of cluster {cluster_id}"
        return await self._checking_cluster(
            cluster_id,
            lambda: self._get_list(f"clusters/{_segment(cluster_id)}/hosts", "hosts", _HOSTS, what),
        )

    async def list_services(self, cluster_id: str) -> list[Service]:
        what = f"list the services of cluster {cluster_id}"
        path = f"clusters/{_segment(cluster_id)}/services"
        return await self._checking_cluster(
            cluster_id, lambda: self._get_list(path, "services", _SERVICES, what)
        )

    # Discovery

    async def list_discovery_methods(self) -> list[str]:
        return await self._get_list(
            "clusters/discover", "methods", _NAMES, "list the discovery methods"
        )

    async def discover_cluster(
        self, method: str, name: str, parameters: Mapping[str, str] | None = None
    ) -> Cluster:
        """Run discovery (synchronous on the server, hence the long timeout). Never retried."""
        what = f"discover cluster {name!r} with method {method!r}"
        known_before = {cluster.id for cluster in await self.list_clusters()}
        body = {"name": name, "method": method, "parameters": dict(parameters or {})}
        try:
            data = await self._request(
                "POST",
                "clusters/discover",
                what=what,
                json_body=body,
                timeout=self.discovery_timeout,
            )
            return self._parse(_CLUSTER, data, what, "a cluster")
        except KostyorError as failure:
            if not _effect_unknown(failure):
                raise
            raise await self._after_failed_discovery(failure, name, known_before) from None

    async def _after_failed_discovery(
        self, failure: KostyorError, name: str, known_before: set[str | None]
    ) -> KostyorError:
        try:
            clusters = await self.list_clusters()
        except KostyorError:
            return failure.restated(
                failure.message, hint="could not re-read the clusters: check before retrying"
            )
        created = [c for c in clusters if c.id not in known_before and c.name == name]
        if created:
            cluster = created[-1]
            return failure.restated(
                f"{failure.message}, but the cluster was created: {cluster.name} "
                f"({cluster.id}), version {cluster.version or 'unknown'}",
                hint="do not discover it again",
            )
        return failure.restated(
            f"{failure.message}; no cluster was created", hint="safe to try again"
        )

    # Versions

    async def list_upgrade_versions(self, cluster_id: str) -> list[str]:
        what = f"list the upgrade versions of cluster {cluster_id}"
        return await self._checking_cluster(
            cluster_id,
            lambda: self._get_list(
                f"upgrade-versions/{_segment(cluster_id)}", "versions", _NAMES, what
            ),
        )

    async def list_all_versions(self) -> list[str]:
        return await self._get_list(
            "list-upgrade-versions", "versions", _NAMES, "list the known releases"
        )

    # Upgrades

    async def list_upgrades(self, cluster_id: str | None = None) -> list[Upgrade]:
        """Every upgrade, or the given cluster's, in the server's order.

        The real server ignores `?cluster_id=` (quirk 3): it is sent for servers
        that honour it and the answer is filtered here either way.
        """
        what = "list upgrades" if cluster_id is None else f"list the upgrades of {cluster_id}"
        data = await self._request(
            "GET",
            "upgrades",
            what=what,
            params={"cluster_id": cluster_id} if cluster_id is not None else None,
        )
        upgrades = self._parse(_UPGRADES, _unwrap(data, "upgrades"), what, "a list of upgrades")
        if cluster_id is None:
            return upgrades
        return [upgrade for upgrade in upgrades if upgrade.cluster_id == cluster_id]

    async def get_upgrade(self, upgrade_id: str) -> Upgrade:
        """One upgrade; a null status is derived from its cluster when it is the newest."""
        what = f"read upgrade {upgrade_id}"
        try:
            data = await self._request("GET", f"upgrades/{_segment(upgrade_id)}", what=what)
            upgrade = self._parse(_UPGRADE, data, what, "an upgrade")
        except (ServerError, ProtocolError, NotFound) as failure:
            # An unknown id gets a 500 from the real server (quirk 2): the list tells.
            try:
                upgrades = await self.list_upgrades()
            except KostyorError:
                raise failure from None
            found = [upgrade for upgrade in upgrades if upgrade.id == upgrade_id]
            if not found:
                raise NotFound(
                    f"No upgrade with id {upgrade_id!r}",
                    hint="run list-upgrades to see the known ones",
                ) from None
            upgrade = found[0]
        if upgrade.status is Status.UNKNOWN and upgrade.cluster_id:
            upgrade = await self._with_derived_status(upgrade)
        return upgrade

    async def _with_derived_status(self, upgrade: Upgrade) -> Upgrade:
        """Quirk 4: the server leaves a new upgrade's status null; the cluster's tells."""
        try:
            cluster, upgrades = await asyncio.gather(
                self.get_cluster(upgrade.cluster_id or ""),
                self.list_upgrades(upgrade.cluster_id),
            )
        except KostyorError:
            return upgrade
        newest = newest_upgrade(upgrades)
        if newest is None or newest.id != upgrade.id:
            return upgrade
        return _with_status(upgrade, effective_status(upgrade, cluster))

    async def current_upgrade(self, cluster_id: str) -> Upgrade | None:
        """The cluster's newest upgrade (by start time, then list order), if it ever had one."""
        upgrades = await self.list_upgrades(cluster_id)
        upgrade = newest_upgrade(upgrades)
        if upgrade is None or upgrade.status is not Status.UNKNOWN:
            return upgrade
        try:
            cluster = await self.get_cluster(cluster_id)
        except KostyorError:
            return upgrade
        return _with_status(upgrade, effective_status(upgrade, cluster))

    async def start_upgrade(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str | None = None,
        driver: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> Upgrade:
        """Start an upgrade and return it. Never retried; see `_after_failed_start`."""
        cluster = await self.get_cluster(cluster_id)
        label = cluster.name or cluster_id
        what = f"start the upgrade of cluster {label} to {to_version}"
        refusal = start_refusal(cluster.status, cluster.version)
        if refusal is not None:
            raise ActionRefused(f"Cannot start an upgrade of cluster {label}: {refusal}")
        before = {upgrade.id for upgrade in await self.list_upgrades(cluster_id)}

        body: dict[str, Any] = {"cluster_id": cluster_id, "to_version": to_version}
        if engine is not None:
            body["engine"] = engine
        if driver is not None:
            body["driver"] = driver
        if parameters:
            body["parameters"] = dict(parameters)
        try:
            data = await self._request("POST", "upgrades", what=what, json_body=body)
            # A garbled answer to a POST is a failure whose effect is unknown too.
            upgrade = self._parse(_UPGRADE, data, what, "an upgrade")
        except KostyorError as failure:
            if not _effect_unknown(failure):
                raise
            raise await self._after_failed_start(failure, cluster_id, before) from None

        if upgrade.id is None or upgrade.status is Status.UNKNOWN:
            cluster, upgrades = await asyncio.gather(
                self.get_cluster(cluster_id), self.list_upgrades(cluster_id)
            )
            if upgrade.id is None:
                created = [u for u in upgrades if u.id not in before]
                if not created:
                    raise ProtocolError(
                        f"Could not {what}: the server answered without an upgrade id "
                        "and no new upgrade is listed",
                        hint="run list-upgrades before trying again",
                    )
                upgrade = newest_upgrade(created) or created[-1]
            upgrade = _with_status(upgrade, effective_status(upgrade, cluster))
        return upgrade

    async def _after_failed_start(
        self, failure: KostyorError, cluster_id: str, before: set[str | None]
    ) -> KostyorError:
        """Quirk 8: a 500 may come after the upgrade was saved. Say which happened."""
        try:
            cluster, upgrades = await asyncio.gather(
                self.get_cluster(cluster_id), self.list_upgrades(cluster_id)
            )
        except KostyorError:
            return failure.restated(
                failure.message,
                hint="could not re-read the cluster: run list-upgrades before trying again",
            )
        created = [upgrade for upgrade in upgrades if upgrade.id not in before]
        if created:
            upgrade = newest_upgrade(created) or created[-1]
            return failure.restated(
                f"{failure.message}, but the upgrade was saved: {upgrade.id}, "
                f"cluster is {cluster.status}",
                hint="do not start it again (the server's task runner may be down: see its log)",
            )
        return failure.restated(
            f"{failure.message}; no upgrade was saved, cluster is {cluster.status}",
            hint="safe to try again",
        )

    async def upgrade_action(self, cluster_id: str, action: UpgradeAction) -> Upgrade:
        """Pause, continue, roll back or cancel the cluster's current upgrade.

        Checked here first (the real server checks nothing, quirk 6, and answers
        500 for a cluster that never had an upgrade, quirk 7). The server's
        answer is ignored (quirk 5): the upgrade returned is re-read.
        """
        if action not in ACTIONS:
            raise ActionRefused(
                f"Unknown upgrade action {action!r}", hint=f"use one of {', '.join(ACTIONS)}"
            )
        cluster, upgrades, current = await self._cluster_state(cluster_id)
        label = cluster.name or cluster_id
        if current is None:
            raise NotFound(
                f"Cannot {action} the upgrade of cluster {label}: it has never had an upgrade",
                hint="start one with upgrade-cluster",
            )
        status = current.status
        allowed = allowed_actions(status)
        if action not in allowed:
            possible = (
                f"possible now: {', '.join(allowed)}" if allowed else "no action is possible now"
            )
            raise ActionRefused(
                f"Cannot {action} the upgrade of cluster {label}: it is {status}; {possible}"
            )

        what = f"{action} the upgrade of cluster {label}"
        try:
            await self._request(
                "PUT",
                f"upgrades/{_segment(current.id or '')}",
                what=what,
                json_body={"cluster_id": cluster_id, "action": action},
                want_body=False,
            )
        except KostyorError as failure:
            if not _effect_unknown(failure):
                raise
            raise await self._after_failed_action(failure, cluster_id, action, status) from None
        after, upgrades_after = await self._reread(cluster_id, what)
        other = _acted_on_another(upgrades, upgrades_after, current.id)
        if other is not None:
            raise ServerError(
                f"The server applied the {action} to an older upgrade of cluster {label}, "
                f"{other.id} (now {other.status}), instead of the current one, {after.id} "
                f"(still {after.status})",
                status_code=200,
                hint="a known Kostyor server bug: it acts on a cluster's oldest upgrade",
            )
        return after

    async def _cluster_state(
        self, cluster_id: str
    ) -> tuple[Cluster, list[Upgrade], Upgrade | None]:
        """The cluster, its upgrades, and its newest upgrade with a null status derived
        from the cluster's (quirk 4), or None if it never had one."""
        cluster, upgrades = await asyncio.gather(
            self.get_cluster(cluster_id), self.list_upgrades(cluster_id)
        )
        current = newest_upgrade(upgrades)
        if current is not None:
            current = _with_status(current, effective_status(current, cluster))
        return cluster, upgrades, current

    async def _reread(self, cluster_id: str, what: str) -> tuple[Upgrade, list[Upgrade]]:
        """The cluster's current upgrade (status derived if need be), and all its upgrades."""
        _, upgrades, current = await self._cluster_state(cluster_id)
        if current is None:
            raise ProtocolError(
                f"Could not {what}: the cluster lists no upgrade after the action",
                hint="run list-upgrades to check",
            )
        return current, upgrades

    async def _reread_current(self, cluster_id: str, what: str) -> Upgrade:
        return (await self._reread(cluster_id, what))[0]

    async def _after_failed_action(
        self, failure: KostyorError, cluster_id: str, action: str, before: Status
    ) -> KostyorError:
        try:
            upgrade = await self._reread_current(cluster_id, f"{action} the upgrade")
        except KostyorError:
            return failure.restated(
                failure.message, hint="could not re-read the upgrade: check it before retrying"
            )
        now = upgrade.status
        if now is _ACTION_RESULT[action] and now is not before:
            outcome = f"but the {action} took effect: upgrade {upgrade.id} is {now}"
        elif now is before:
            outcome = f"and the upgrade {upgrade.id} is still {now}"
        else:
            outcome = f"afterwards the upgrade {upgrade.id} is {now}"
        return failure.restated(f"{failure.message}, {outcome}", hint="check before retrying")


def _acted_on_another(
    before: Sequence[Upgrade], after: Sequence[Upgrade], current_id: str | None
) -> Upgrade | None:
    """The other upgrade an action changed, when it left the current one alone (quirk 5)."""
    status_before = {upgrade.id: upgrade.raw_status for upgrade in before}
    changed = [
        upgrade
        for upgrade in after
        if upgrade.id in status_before and upgrade.raw_status != status_before[upgrade.id]
    ]
    if not changed or any(upgrade.id == current_id for upgrade in changed):
        return None
    return changed[0]


def _effect_unknown(failure: KostyorError) -> bool:
    """Whether a failed POST or PUT may still have changed something on the server."""
    return isinstance(failure, ServerError | ProtocolError) or failure.outcome_unknown


def _with_status(upgrade: Upgrade, status: Status) -> Upgrade:
    if status is upgrade.status:
        return upgrade
    return upgrade.model_copy(update={"status": status})
