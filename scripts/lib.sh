# shellcheck shell=bash
# scripts/lib.sh: helpers shared by scripts/up, scripts/test, scripts/pg and
# bench/run. Source it; it defines functions and changes nothing by itself.

# The repository root (this file lives in <root>/scripts).
SF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

sf_log() { printf '%s: %s\n' "${SF_PROG:-sendflow}" "$*" >&2; }
sf_die() {
    sf_log "$*"
    exit 1
}

# Run a command as root: directly when we are root, else through sudo.
sf_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        sf_die "need root to run: $* (install the packages by hand, or run as root)"
    fi
}

# sf_ensure_packages PKG...: install the Debian packages that are missing.
# apt-get update runs only when something is missing, so a machine that has
# everything is never touched (and no network is needed).
# The calling script's optional packages (SF_OPTIONAL_PACKAGES, below) are
# installed too when they can be; when they cannot (no network, no root),
# that is said and the run goes on: the tests that need them skip, saying why.
sf_ensure_packages() {
    local missing=() optional=() p q status
    for p in "$@" "${SF_OPTIONAL_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case "$status" in
        ii*) continue ;;
        esac
        for q in "${SF_OPTIONAL_PACKAGES[@]}"; do
            [ "$p" = "$q" ] && optional+=("$p") && continue 2
        done
        missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && return 0
    sf_log "installing missing packages: ${missing[*]} ${optional[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#missing[@]} -gt 0 ]; then
        sf_as_root apt-get update -q
        sf_as_root apt-get install -y -q "${missing[@]}" || return 1
    fi
    if [ ${#optional[@]} -gt 0 ] &&
        ! (sf_as_root apt-get update -q && sf_as_root apt-get install -y -q "${optional[@]}"); then
        sf_log "could not install ${optional[*]}: the tests that need them are skipped"
        SF_OPTIONAL_PACKAGES=() # tried once; not again in this run
    fi
    return 0
}

# Optional packages of the calling script (see sf_ensure_packages): headless
# chromium renders the board reports' HTML for tests/integration/
# test_report_html.py, and drives the dashboard (chromium-driver, through
# python3-selenium) for test_dashboard.py, so only scripts/test wants them.
SF_OPTIONAL_PACKAGES=()
if [ "${SF_PROG:-}" = "scripts/test" ]; then
    SF_OPTIONAL_PACKAGES+=(chromium chromium-driver python3-selenium)
fi

# The packages every entry point needs (build + local PostgreSQL).
# shellcheck disable=SC2034 # used by the scripts that source this file
SF_BASE_PACKAGES=(meson ninja-build pkg-config gcc libuv1-dev libjansson-dev libyaml-dev
    libpq-dev postgresql python3 tzdata
    libcurl4-openssl-dev libssl-dev python3-aiosmtpd # delivery of notices; its tests' SMTP server
    openssl # TLS (libssl-dev); the tests make their certificates with the openssl command
    libh2o-dev libical-dev # --http (h2o on libuv) and its calendar feeds (libical)
    python3-prometheus-client python3-icalendar # independent parsers: /metrics, the feeds
    libsystemd-dev # sd_notify and journald priorities (daemon/sdnotify.c, daemon/log.c)
    systemd man-db) # test_install: systemd-analyze verify of the unit (it looks up its man page)

# sf_build DIR [-Dname=value...]: configure DIR (once; an existing DIR gets
# the options re-applied, so it always builds as asked), then compile it.
sf_build() {
    local dir=$1
    shift
    if [ -f "$SF_ROOT/$dir/build.ninja" ]; then
        if [ $# -gt 0 ]; then
            (cd "$SF_ROOT" && meson configure "$dir" "$@" >/dev/null) || return 1
        fi
    else
        rm -rf "${SF_ROOT:?}/$dir" # a setup that never finished
        (cd "$SF_ROOT" && meson setup "$dir" "$@") || return 1
    fi
    (cd "$SF_ROOT" && meson compile -C "$dir")
}

# The newest installed PostgreSQL server's bin directory.
sf_pg_bindir() {
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ ! -x "$d/pg_ctl" ]; then
        sf_die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"
    fi
    printf '%s\n' "$d"
}

# sf_wait_socket PATH SECONDS [PID]: wait until a Unix socket accepts a
# connection; fail early when PID (the server) has died.
sf_wait_socket() {
    local path=$1 secs=$2 pid=${3:-}
    python3 - "$path" "$secs" "$pid" <<'EOF'
import os, socket, sys, time
path, secs, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    if pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sys.exit("server exited before it was ready")
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        s.sendall(b'{"op":"ping"}\n')
        line = s.makefile("rb").readline()
        s.close()
        if b'"ok"' in line and b'true' in line:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit("timed out waiting for %s" % path)
EOF
}
