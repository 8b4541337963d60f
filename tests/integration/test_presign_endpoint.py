"""The avatar redirect, followed from outside: the app reaches the emulator through an address only it has.

As on Minikube: the pods reach the emulator as host.minikube.internal, which the user's machine cannot resolve. Here
the app's address is a forwarder to the real moto server, closed before the client follows the redirect; the
client reaches the moto server directly, at the address S3_PRESIGN_ENDPOINT_URL names.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from devtools.resources import s3_client
from tests.support import REGION, phone_photo, settings, signup_form
from users_api import create_app

pytestmark = pytest.mark.integration


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        target: tuple[str, int] = self.server.target  # type: ignore[attr-defined]
        with socket.create_connection(target) as upstream:
            pumps = [
                threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
                threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
            ]
            for pump in pumps:
                pump.start()
            for pump in pumps:
                pump.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def inside_address(moto_server: str) -> Iterator[tuple[str, socketserver.ThreadingTCPServer]]:
    """An address of the emulator that only the app uses (host.minikube.internal on Minikube)."""
    target = urlsplit(moto_server)
    forwarder = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Pipe)
    forwarder.daemon_threads = True
    forwarder.target = (target.hostname, target.port)  # type: ignore[attr-defined]
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{forwarder.server_address[1]}", forwarder
    forwarder.shutdown()
    forwarder.server_close()


def test_the_redirect_followed_from_outside_gives_the_avatars_bytes(
    moto_server: str, names: tuple[str, str], inside_address: tuple[str, socketserver.ThreadingTCPServer]
) -> None:
    inside, forwarder = inside_address
    app = create_app(settings(*names, endpoint_url=inside, presign_endpoint_url=moto_server))
    client = app.test_client()
    avatar = phone_photo()
    created = client.post(
        "/user", data=signup_form(avatar=avatar, filename="me.jpg"), content_type="multipart/form-data"
    )
    assert created.status_code == 201, created.get_json()
    redirect = client.get("/users/test-user@example.com/avatar")
    forwarder.shutdown()
    forwarder.server_close()  # from here on, the app's address of the emulator answers no one

    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert urlsplit(location).netloc == urlsplit(moto_server).netloc
    download = requests.get(location, timeout=10)
    assert download.status_code == 200, download.text[:300]
    (key,) = [item["Key"] for item in s3_client(moto_server, REGION).list_objects_v2(Bucket=names[1])["Contents"]]
    stored = s3_client(moto_server, REGION).get_object(Bucket=names[1], Key=key)["Body"].read()
    assert download.content == stored
    assert download.headers["Content-Type"] == "image/jpeg"  # the phone photo, as the app re-encoded and stored it
