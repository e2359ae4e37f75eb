"""Connect to Server from macros: recordable run() under Xvfb and call() with no display."""

from __future__ import annotations

import subprocess
import sys
import time


def test_run_connect_in_batch_macro(run_macro, server):
    host, port = server.split(":")
    result = run_macro(
        f'run("Connect to Server", "host={host} port={port}");\n'
        'emit("info=" + call("org.phenosort.phenosort.macro.MacroApi.serverInfo"));\n'
    )
    info = result.value("info")
    assert info.startswith("phenosort=") and f"port={port}" in info, info


def test_call_connect_headless_and_bad_port(run_macro, server):
    host, port = server.split(":")
    api = "org.phenosort.phenosort.macro.MacroApi"
    result = run_macro(
        f'emit("ok=" + call("{api}.connect", "{host}", "{port}"));\n'
        f'emit("closed=" + call("{api}.connect", "{host}", "1"));\n'
        f'emit("bad=" + call("{api}.connect", "{host}", "port"));\n',
        mode="headless",
    )
    assert "api=v1" in result.value("ok")
    assert result.value("closed").startswith("error: UNAVAILABLE")
    assert result.value("bad") == "error: invalid port port"


def test_start_server_runs_phenosort_serve_until_imagej_quits(run_macro, tmp_path):
    store = tmp_path / "store"
    command = f"{sys.executable} -m phenosort.cli"
    result = run_macro(
        f'run("Start Server", "command=[{command}] store=[{store}] port=0 timeout=120");\n'
        'emit("info=" + call("org.phenosort.phenosort.macro.MacroApi.serverInfo"));\n'
    )
    assert result.value("info").startswith("phenosort="), result.output[-2000:]
    assert store.is_dir()
    # the server stops with ImageJ: no process serves this store any more
    left = subprocess.run(["pgrep", "-f", f"--store {store}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_start_server_reports_a_bad_command(run_macro, tmp_path):
    result = run_macro(
        'run("Start Server", "command=[/nonexistent/phenosort] port=0 timeout=10");\n'
    )
    assert "cannot run '/nonexistent/phenosort'" in result.output


def test_tls_and_token_from_java(run_macro, self_signed, tmp_path):
    cert, key = self_signed
    port_file = tmp_path / "port"
    serve = subprocess.Popen(
        [sys.executable, "-m", "phenosort.cli", "serve", "--port", "0", "--store",
         str(tmp_path / "store"), "--tls-cert", str(cert), "--tls-key", str(key),
         "--token", "s3cret", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(0.1)
        port = port_file.read_text().strip()
        api = "org.phenosort.phenosort.macro.MacroApi"
        result = run_macro(
            f'run("Connect to Server", "host=127.0.0.1 port={port} token=s3cret tls '
            f'certificate=[{cert}]");\n'
            f'emit("ok=" + call("{api}.serverInfo"));\n'
            f'run("Connect to Server", "host=127.0.0.1 port={port} token=wrong tls '
            f'certificate=[{cert}]");\n'
            f'emit("bad_token=" + call("{api}.serverInfo"));\n'
        )
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert result.value("ok").startswith("phenosort="), result.output[-2000:]
    assert result.value("bad_token").startswith("error: UNAUTHENTICATED")
