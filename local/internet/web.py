"""The mini-internet's web server: nginx on the internet host, serving challenge files on 80/443.

``mpic challenge http HOST PATH CONTENT`` writes files under ``www/HOST/``; nginx serves them for
any host name (``root www/$host``) over HTTP and HTTPS (the kit CA's certificate for the test
domain and every challenge host, re-issued and reloaded when a host is added).
"""

from __future__ import annotations

from pathlib import Path

from local.pki import web_certificate
from local.engine.proc import alive
from local.engine.state import State
from local.engine import netns
from local.engine.supervisor import python, start_process, tcp_listening, wait_for
from local.engine.users import own_tree
from plan.local import UPLINK_PREFIX, FleetPlan
from plan.privileges import PROCESS_USERS


def nginx_conf(workdir: Path, listen_ip: str, cert: Path, key: Path) -> str:
    d = workdir / "nginx"
    www = workdir / "www"
    temps = "\n".join(f"    {k}_temp_path {d / 'tmp' / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {d / 'nginx.pid'};
error_log {d / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
    access_log {d / 'access.log'};
{temps}
    default_type text/plain;
    server_tokens off;
    server {{
        listen {listen_ip}:80 default_server;
        listen {listen_ip}:443 ssl default_server;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        server_name _;
        root {www}/$host;
        location / {{ try_files $uri =404; }}
    }}
}}
"""


def start_web(state: State, plan: FleetPlan) -> None:
    """nginx, master and worker as ``www-data`` (only CAP_NET_BIND_SERVICE for 80 and 443): its
    runtime folder is that user's, its config root's. Not waited for: :func:`wait_web`."""
    wd = state.workdir
    (wd / "www").mkdir(parents=True, exist_ok=True)
    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (wd / "nginx" / "tmp" / k).mkdir(parents=True, exist_ok=True)
    own_tree(wd / "nginx", PROCESS_USERS["web"])
    hosts = sorted({h["host"] for h in state.data["challenges"]["http"]})
    cert, key = web_certificate(state, plan, hosts)
    conf = wd / "nginx.conf"
    conf.write_text(nginx_conf(wd, plan.internet_ip, cert, key))
    start_process(state, "nginx", ["nginx", "-c", str(conf), "-p", str(wd / "nginx"), "-e",
                                   str(wd / "nginx" / "error.log")], plan.internet_ns, "web",
                  setuid=True, bind_low_ports=True)


def wait_web(state: State, plan: FleetPlan, timeout: float = 10) -> None:
    """nginx (the recorded master) runs and the internet host answers on 80 and 443."""
    rec = state.data["processes"]["nginx"]
    wait_for(lambda: alive(rec) and tcp_listening(plan.internet_ns, plan.internet_ip, 80)
             and tcp_listening(plan.internet_ns, plan.internet_ip, 443), timeout, "nginx", rec)


def start_alpn(state: State, plan: FleetPlan) -> None:
    """The TLS-ALPN-01 responder on the internet host's second address (``mpic challenge tls-alpn``).
    Not waited for: :func:`wait_alpn`."""
    netns.add_address(plan.internet_ns, "up0", f"{plan.alpn_ip}/{UPLINK_PREFIX}")
    config = state.workdir / "alpn" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        config.write_text("{}")
    start_process(state, "alpn", [python(), "-m", "local.daemons.alpn", "--listen", f"{plan.alpn_ip}:443",
                                  "--config", str(config), "--user", PROCESS_USERS["alpn"]], plan.internet_ns, "alpn")


def wait_alpn(state: State, plan: FleetPlan, timeout: float = 10) -> None:
    """The TLS-ALPN-01 responder accepts connections."""
    wait_for(lambda: tcp_listening(plan.internet_ns, plan.alpn_ip, 443), timeout, "TLS-ALPN responder",
             state.data["processes"]["alpn"])
