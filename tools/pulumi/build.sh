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
# The first build downloads ~300 Go modules and compiles for several minutes; later runs take a second.
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
    pulumi-language-python-exec build.sh | sha256sum | cut -c1-12)"
cache_root="${FABRICAI_ROSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fabricai-roster}"
target="$cache_root/pulumi-$cli_version-$hash"

if [[ -x "$target/bin/pulumi" && -x "$target/bin/pulumi-language-python" ]]; then
    echo "$target/bin"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: Go is not installed, so the Pulumi CLI cannot be built from its Go modules" >&2
    exit 1
fi

mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
log="$cache_root/build-$cli_version.log"
mkdir -p "$work/bin"
started=$SECONDS
{
    cd "$HERE"
    go build -trimpath -o "$work/bin/pulumi" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -o "$work/bin/pulumi-language-python" \
        -ldflags "-X main.version=$sdk_version" ./languagehost
} >"$log" 2>&1 || {
    echo "build.sh: building the Pulumi CLI $cli_version failed; see $log" >&2
    exit 1
}
install -m 0755 "$HERE/pulumi-resource-pulumi-python" "$HERE/pulumi-language-python-exec" "$work/bin/"
echo "built in $((SECONDS - started)) s" >>"$log"
# Another build may have finished first: keep whichever landed, both are the same.
mv -T "$work" "$target" 2>/dev/null || true
echo "$target/bin"
