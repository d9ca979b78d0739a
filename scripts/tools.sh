# shellcheck shell=bash
# Sourced by the scripts in this folder and by .ci/run; not run on its own.
#
# The one place that pins the Go tools Haven's checks use. They are built with
# `go install pkg@version` into a cache folder outside the work tree, never
# added to go.mod. To bump one, change its version here.

STATICCHECK_PKG=honnef.co/go/tools/cmd/staticcheck
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2, built for Go 1.26
GOVULNCHECK_PKG=golang.org/x/vuln/cmd/govulncheck
GOVULNCHECK_VERSION=v1.9.0

# Always use the toolchain go.mod pins (the machine may set GOTOOLCHAIN=local
# with an older Go that has known standard-library vulnerabilities).
export GOTOOLCHAIN=auto

HAVEN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The Go version the repository's toolchain pin resolves to (e.g. go1.26.11).
HAVEN_GO_VERSION="$(cd "$HAVEN_ROOT" && go env GOVERSION)"
HAVEN_CACHE_DIR="${HAVEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haven}"
# One folder per Go version: a tool built by an older Go cannot load code
# written for a newer one, and work trees on different toolchains share this.
HAVEN_TOOLS_BIN="${HAVEN_TOOLS_BIN:-$HAVEN_CACHE_DIR/tools/$HAVEN_GO_VERSION/bin}"
case ":$PATH:" in
*":$HAVEN_TOOLS_BIN:"*) ;;
*) export PATH="$HAVEN_TOOLS_BIN:$PATH" ;;
esac

haven_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# haven_go_tool NAME PKG VERSION: make sure $HAVEN_TOOLS_BIN/NAME is PKG at
# VERSION, built by the repository's Go toolchain. Fast when it already is.
haven_go_tool() {
	local name=$1 pkg=$2 version=$3 bin="$HAVEN_TOOLS_BIN/$1" info
	if [[ -x $bin ]] && info="$(go version -m "$bin" 2>/dev/null)" &&
		[[ $(head -n1 <<<"$info") == "$bin: $HAVEN_GO_VERSION" ]] &&
		grep -qE "^[[:space:]]+mod[[:space:]]+[^[:space:]]+[[:space:]]+$version([[:space:]]|$)" <<<"$info"; then
		return 0
	fi
	haven_log "installing $name ($pkg@$version) with $HAVEN_GO_VERSION into $HAVEN_TOOLS_BIN"
	mkdir -p "$HAVEN_TOOLS_BIN"
	(cd "$HAVEN_ROOT" && GOBIN="$HAVEN_TOOLS_BIN" go install "$pkg@$version") && return 0
	# No network? Build from the module cache if the sources are there (its
	# download folder serves as a module proxy, checksums included).
	local modcache
	modcache="$(cd "$HAVEN_ROOT" && go env GOMODCACHE)"
	haven_log "retrying $name from the local module cache only"
	(cd "$HAVEN_ROOT" && GOBIN="$HAVEN_TOOLS_BIN" \
		GOPROXY="file://$modcache/cache/download" go install "$pkg@$version")
}

haven_ensure_staticcheck() { haven_go_tool staticcheck "$STATICCHECK_PKG" "$STATICCHECK_VERSION"; }
haven_ensure_govulncheck() { haven_go_tool govulncheck "$GOVULNCHECK_PKG" "$GOVULNCHECK_VERSION"; }
