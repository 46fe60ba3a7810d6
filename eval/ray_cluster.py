"""Running work on Ray: connecting to a cluster (token authentication included) and mapping items over actors.

`ray_map` is the Ray counterpart of `checker.parallel.parallel_map`: one actor
per worker, each built from the same arguments, results yielded as they
finish. Interrupted or failed, it kills its actors (and with them the
proof-assistant processes they started), on a cluster as well.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")


class RayClusterError(ValueError):
    """`--ray ADDRESS` cannot be used as it stands; the message says what to set."""


def ray_map(actor_class: type, actor_args: tuple, call: Callable[[Any, Item], Any], items: Sequence[Item],
            workers: int, address: str) -> Generator[Any, None, None]:
    """`call(actor, item)` (an actor method's `.remote(...)`) for every item, on `workers` actors of `actor_class`.

    `address`: "" starts a local Ray instance, else the cluster there (see
    `connect_ray`). A Ray instance this call started is shut down at the end.
    """
    import ray
    from ray.util import ActorPool

    started = not ray.is_initialized()
    if started:
        connect_ray(address)
    actors: list[Any] = []
    try:
        actor = ray.remote(num_cpus=1)(actor_class)
        actors = [actor.remote(*actor_args) for _ in range(min(workers, len(items)))]
        pool = ActorPool(actors)
        yield from pool.map_unordered(call, list(items))
        for a in actors:
            ray.get(a.close.remote())
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # already gone, or Ray itself is going down
                pass
        if started:
            ray.shutdown()


def connect_ray(address: str) -> None:
    """`ray.init` for `--ray`: a new local instance (""), or the cluster at ADDRESS.

    A cluster started with `ray start --head` uses token authentication when a
    token exists where Ray keeps it (~/.ray/auth_token, RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH), but a driver given an explicit address does not turn
    it on by itself, and would retry for 20 s before failing. So the cluster is
    asked first: if it wants a token and this machine has the right one, token
    authentication is turned on for this process (RAY_AUTH_MODE=token);
    otherwise the run stops at once, saying what to set.
    """
    import ray

    if address and "://" not in address and address not in ("auto", "local"):
        _prepare_cluster_auth(address)
    ray.init(address=address or None, include_dashboard=False, log_to_driver=False)


def _prepare_cluster_auth(address: str) -> None:
    from ray._raylet import AuthenticationTokenLoader  # pyright: ignore[reportAttributeAccessIssue]  (compiled, no stubs)

    where = "~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH"
    answer = _ask_gcs(address, ())
    if answer == "ok":
        return
    if answer != "unauthenticated":
        raise RayClusterError(
            f"--ray {address}: no Ray cluster answers there ({answer}); start one on the head node with "
            "`ray start --head --port PORT` and pass HOST:PORT, or use `--ray` alone for a local Ray instance"
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        raise RayClusterError(f"--ray {address}: the cluster uses token authentication but RAY_AUTH_MODE=disabled here; unset it")
    try:
        header = AuthenticationTokenLoader.instance().get_token_for_http_header(ignore_auth_mode=True)
    except Exception as exc:  # an unreadable token file
        raise RayClusterError(f"--ray {address}: cannot read the Ray token ({where}): {exc}") from None
    if not header:
        raise RayClusterError(
            f"--ray {address}: the cluster uses token authentication and this machine has no token. "
            "Copy the token `ray start` wrote on the head node (its ~/.ray/auth_token; `ray get-auth-token` prints it) "
            "to ~/.ray/auth_token here, or set RAY_AUTH_TOKEN=<token> (or RAY_AUTH_TOKEN_PATH=<file>)"
        )
    if _ask_gcs(address, tuple(header.items())) != "ok":
        raise RayClusterError(
            f"--ray {address}: the cluster refused this machine's Ray token (from {where}); "
            "use the head node's token (`ray get-auth-token` there)"
        )
    os.environ["RAY_AUTH_MODE"] = "token"  # for this process and the processes it starts
    from ray._raylet import Config  # pyright: ignore[reportAttributeAccessIssue]  (compiled, no stubs)

    Config.initialize("")  # Ray read its settings on import: make it see token mode


def _ask_gcs(address: str, metadata: tuple, timeout_s: float = 10.0) -> str:
    """Ask the cluster's GCS for its id: "ok", "unauthenticated", or why it did not answer."""
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        try:
            request = gcs_service_pb2.GetClusterIdRequest()  # pyright: ignore[reportAttributeAccessIssue]  (generated)
            stub.GetClusterId(request, timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                return "unauthenticated"
            return f"{exc.code().name}: {exc.details()}"
    return "ok"
