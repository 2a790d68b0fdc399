"""Starting redis-server and a release Understudy side by side, for the benches/ scripts."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def servers():
    """(name, argv) for redis-server and Understudy, each on a free port, no persistence."""
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed (apt-get install redis-server)")
    binary = os.path.join(ROOT, "target", "release", "understudy")
    if not os.path.exists(binary):
        sys.exit("build Understudy first: cargo build --release -p understudy")
    common = ["--save", "", "--appendonly", "no", "--port"]
    return [
        ("redis", ["redis-server"] + common + [str(free_port())]),
        ("understudy", [binary] + common + [str(free_port())]),
    ]


def start(argv):
    """Runs a server in a scratch directory; returns (process, connection, scratch dir)."""
    work = tempfile.mkdtemp()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = int(argv[argv.index("--port") + 1])
    for _ in range(200):
        try:
            return proc, socket.create_connection(("127.0.0.1", port)), work
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{argv[0]} did not start")


def stop(proc, work):
    proc.kill()
    proc.wait()
    shutil.rmtree(work, ignore_errors=True)


def call(conn, request, replies=1):
    """Sends `request` and reads until `replies` simple replies (one line each) arrived."""
    conn.sendall(request)
    data = b""
    while data.count(b"\r\n") < replies:
        data += conn.recv(1 << 20)
    return data


def info_field(conn, section, field):
    conn.sendall(b"INFO " + section.encode() + b"\r\n")
    data = b""
    while True:
        data += conn.recv(1 << 20)
        header, _, body = data.partition(b"\r\n")
        if header.startswith(b"$") and len(body) >= int(header[1:]):
            break
    for line in body.decode().split("\r\n"):
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    sys.exit(f"INFO has no {field}")
