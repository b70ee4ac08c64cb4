#!/usr/bin/env bash
# Builds the Pulumi CLI and our Python language host from Go modules, once per version, into a cache
# outside the clone, and prints the folder that holds them (put it first on PATH).
#
#   bash tools/pulumi/build.sh          # -> /root/.cache/fabricai-roster/pulumi-v3.274.0-<hash>/bin
#
# Why: Pulumi's installer and release archives cannot be downloaded here, but the CLI
# (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) is a published Go module. This folder is a small module of
# ours that requires it (go.mod: the version, and the third-party `replace` lines of Pulumi's own go.mod,
# which `go install module@version` refuses to honour). Pulumi's Python language host module is not served
# by the Go module proxy, so languagehost/ is our own, with our own equivalents of the two scripts Pulumi
# ships beside it (the dynamic provider's launcher and the program's exec helper).
#
# The cache folder is keyed by the CLI version and a hash of this folder, so a changed script rebuilds and
# a fresh clone (CI's) reuses an earlier build. FABRICAI_ROSTER_CACHE overrides its parent folder.
# The first build downloads ~260 Go modules and compiles ~1,700 packages (~10 minutes on 2 CPUs, ~3 GB of Go
# caches), saying how far it got every 20 s on stderr; each build writes its own log under
# <cache>/logs/. Later runs take a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

cli_version="$(sed -n 's#^\s*github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*#\1#p' "$HERE/go.mod" | head -1)"
sdk_version="$(sed -n 's#^\s*"pulumi==\([0-9.]*\)".*#\1#p' "$ROOT/pyproject.toml" | head -1)"
if [[ -z "$cli_version" || -z "$sdk_version" ]]; then
    echo "build.sh: cannot read the Pulumi versions from tools/pulumi/go.mod and pyproject.toml" >&2
    exit 1
fi
hash="$(cd "$HERE" && cat go.mod go.sum languagehost/*.go pulumi-resource-pulumi-python \
    pulumi-python-dynamic-provider.py pulumi-language-python-exec build.sh | sha256sum | cut -c1-12)"
cache_root="${FABRICAI_ROSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fabricai-roster}"
target="$cache_root/pulumi-$cli_version-$hash"

built() { [[ -x "$target/bin/pulumi" && -x "$target/bin/pulumi-language-python" ]]; }
if built; then
    echo "$target/bin"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: Go is not installed, so the Pulumi CLI cannot be built from its Go modules" >&2
    exit 1
fi

mkdir -p "$cache_root/logs"
# One log per build: concurrent builds (several clones, CI jobs) never share or truncate each other's.
log="$cache_root/logs/build-$cli_version-$hash-$(date -u +%Y%m%dT%H%M%SZ)-$$.log"
: >"$log"
started=$SECONDS
# What the build is doing goes to stderr (and the log): stdout carries only the folder, for the callers.
say() { printf 'build.sh: %s\n' "$*" | tee -a "$log" >&2; }

# The same build started twice (two test runs of one clone) waits for the first instead of compiling twice
# on the same CPUs; it then finds the result in the cache.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache_root/.build-$cli_version-$hash.lock"
    if ! flock -n 9; then
        say "another build of the Pulumi CLI $cli_version ($hash) is running; waiting for it (its log is in $cache_root/logs)"
        flock 9
    fi
    if built; then
        say "built by the other build in $((SECONDS - started)) s"
        echo "$target/bin"
        exit 0
    fi
fi

work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"

# progress WHAT TOTAL PATTERN: copies its input (go's output) to the log, counts the lines that match PATTERN
# and says how far it got every 20 s, also while go prints nothing (a large package compiling).
progress() {
    local what="$1" total="$2" pattern="$3" count=0 last=$SECONDS partial="" line="" rc
    while :; do
        rc=0
        IFS= read -r -t 20 line || rc=$?
        if ((rc > 128)); then
            # Timed out: go is busy and silent. Keep the part of a line that came, and say so.
            partial+="$line"
            say "$what: $count of ~$total so far ($((SECONDS - started)) s)"
            last=$SECONDS
            continue
        fi
        line="$partial$line"
        partial=""
        if ((rc != 0)) && [[ -z "$line" ]]; then
            break
        fi
        printf '%s\n' "$line" >>"$log"
        if [[ "$line" =~ $pattern ]]; then
            count=$((count + 1))
        fi
        if ((SECONDS - last >= 20)); then
            say "$what: $count of ~$total so far ($((SECONDS - started)) s)"
            last=$SECONDS
        fi
        # The input ended with a line without a newline.
        ((rc == 0)) || break
    done
    say "$what: $count ($((SECONDS - started)) s)"
}

cd "$HERE"
packages=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./languagehost)
modules="$(awk '/^require \(/ {r = 1; next} r && /^\)/ {r = 0} r && NF >= 2 {n++} /^require [^(]/ {n++}
    END {print n + 0}' go.mod)"
say "building the Pulumi CLI $cli_version and its Python language host into $target"
say "log: $log"
say "a first build downloads up to $modules Go modules, then compiles about 1,700 packages: about 10 minutes"
say "on 2 CPUs and about 3 GB in Go's caches ($(go env GOMODCACHE), $(go env GOCACHE)); later builds take 30-60 s"

# 1. The packages the build needs, listed first so that the compile can be counted against them; listing
# them downloads the modules they come from (go says "go: downloading <module>" for each one it fetches).
if ! go list -deps "${packages[@]}" 2>&1 >"$work/packages" |
    progress "Go modules downloaded" "$modules" '^go: downloading '; then
    say "listing the packages of the Pulumi CLI $cli_version failed; see $log"
    exit 1
fi
package_count="$(wc -l <"$work/packages")"

# 2. The compile: -v names each package as it is compiled (packages already in Go's build cache are not).
if ! {
    go build -v -trimpath -o "$work/bin/pulumi" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -v -trimpath -o "$work/bin/pulumi-language-python" \
        -ldflags "-X main.version=$sdk_version" ./languagehost
} 2>&1 | progress "Go packages compiled" "$package_count" '^[A-Za-z0-9_.~/+-]+$'; then
    say "building the Pulumi CLI $cli_version failed; see $log"
    exit 1
fi
install -m 0755 "$HERE/pulumi-resource-pulumi-python" "$HERE/pulumi-language-python-exec" "$work/bin/"
install -m 0644 "$HERE/pulumi-python-dynamic-provider.py" "$work/bin/"
say "built in $((SECONDS - started)) s"
# Another build may have finished first: keep whichever landed, both are the same.
mv -T "$work" "$target" 2>/dev/null || true
echo "$target/bin"
