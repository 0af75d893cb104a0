# Sourced by scripts/run, scripts/test and .ci/run. Installs what the console needs on a
# fresh Debian machine: system packages, a Python >= 3.12, .venv with requirements.txt,
# and for the tests node_modules with package-lock.json.
# Usage: source scripts/bootstrap.sh [console|test|bench]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PURPOSE="${1:-console}"

# WeasyPrint needs Pango; the Noto fonts cover Latin, Arabic, CJK and emoji in bill PDFs.
# gettext compiles the translations (locale/*/LC_MESSAGES/django.po) below.
SYSTEM_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig
  fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji gettext)
if [ "$PURPOSE" = "test" ]; then
  # Browser tests drive Debian's Chromium; PDF tests read text back with poppler; the
  # benchmarks' smoke runs (bills/tests/test_bench_smoke.py) drive the load tests with wrk;
  # the two-server test (bills/tests/test_two_servers.py) starts a private redis-server.
  SYSTEM_PACKAGES+=(chromium poppler-utils wrk redis-server)
  # npm installs axe-core for the accessibility test; a Node.js from elsewhere will do.
  command -v npm >/dev/null || SYSTEM_PACKAGES+=(nodejs npm)
fi
if [ "$PURPOSE" = "bench" ]; then
  # Load tests (bench/, run by hand) drive the console with wrk.
  SYSTEM_PACKAGES+=(wrk)
fi

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> Installing system packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "Please install these Debian packages as root: ${missing[*]}" >&2; exit 1
  fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.14 python3.13 python3.12 python3 \
      "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9]; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python_bin="$(find_python)" || {
    echo "Django 6 needs Python 3.12 or newer; none was found. Set PYTHON=/path/to/python3.12." >&2
    exit 1
  }
  echo "==> Creating .venv with $("$python_bin" --version)"
  "$python_bin" -m venv .venv
fi

# Reinstall only when requirements.txt changed since the last install.
stamp=".venv/.requirements.sha256"
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "==> Installing requirements.txt into .venv"
  pip_install() {
    # Some machines' pip configuration names local mirrors that do not exist; pip warns
    # once per package about them, which is noise, not news.
    .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 \
      | { grep -v "is ignored: it is neither a file nor a directory" || true; }
    return "${PIPESTATUS[0]}"
  }
  pip_install --upgrade pip
  pip_install -r requirements.txt
  echo "$wanted" > "$stamp"
fi

if [ "$PURPOSE" = "test" ]; then
  # axe-core, which the accessibility test injects into pages, pinned by package-lock.json;
  # reinstalled only when that file changed since the last install.
  node_stamp="node_modules/.package-lock.sha256"
  node_wanted="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ "$(cat "$node_stamp" 2>/dev/null)" != "$node_wanted" ]; then
    echo "==> Installing package-lock.json into node_modules"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$node_wanted" > "$node_stamp"
  fi
fi

# The compiled translations (.mo) are built here, not committed: again whenever a .po is
# newer than its .mo.
for catalogue in locale/*/LC_MESSAGES/django.po; do
  if [ ! -f "${catalogue%.po}.mo" ] || [ "$catalogue" -nt "${catalogue%.po}.mo" ]; then
    echo "==> Compiling the translations"
    .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
    break
  fi
done

export PATH="$ROOT/.venv/bin:$PATH"
