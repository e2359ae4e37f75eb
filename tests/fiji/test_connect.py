"""Connect to Server from macros: recordable run() under Xvfb and call() with no display."""

from __future__ import annotations


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
