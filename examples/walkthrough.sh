#!/usr/bin/env bash
# The walk-through: a whole roster against the local sandbox, through the real Pulumi CLI.
#
#   examples/walkthrough.sh
#
# What it does, step by step (each step prints a banner):
#   1. sets up .venv (pip install -e '.[sandbox]') first, then finds the Pulumi CLI: on PATH; else Pulumi's
#      installer (into $WORK_ROOT/pulumi-cli); else built from Pulumi's Go modules where `go` exists
#      (tools/pulumi/build.sh, cached outside the clone); else the same steps run on the project's engine
#      stand-in (python -m scripts.driver_walkthrough), labelled as such, so the job is always shown;
#   2. starts the sandbox (examples/sandbox.yaml) on a free local port, its state in $WORK_ROOT/walkthrough/;
#   3. works in a project of its own, $WORK_ROOT/walkthrough/project (Pulumi.yaml and the program copied, the
#      .venv linked), with a file backend of its own ($WORK_ROOT/walkthrough/state, as PULUMI_BACKEND_URL) and
#      a passphrase secrets provider (PULUMI_HOME there too): the repository's stacks/, a firm's own stacks
#      and backend, and your Pulumi login are never touched, whatever their names;
#   4. creates the stack `sandbox` from examples/Pulumi.sandbox.yaml (copied to the project's
#      stacks/Pulumi.sandbox.yaml, where the CLI reads stack settings), points it at the sandbox and stores the
#      demo keys of examples/sandbox-secrets.yaml with `pulumi config set --secret`; then `pulumi up`;
#   5. rotates a Procountor key and the shared Netvisor credentials, shows `pulumi preview --diff`, applies;
#   6. changes and deletes things in the portal behind Pulumi's back and runs `pulumi refresh`;
#   7. runs the clients that reproduce every "possible issue" of the guides (stack `sandbox-broken`,
#      examples/Pulumi.sandbox-broken.yaml): their `pulumi up` fails ON PURPOSE, one message per client;
#   8. shows that a protected client cannot be deregistered by deleting it from the roster, then
#      `pulumi destroy` of the broken stack;
#   9. keeps the stack `sandbox` and shows it with the operator's command (`fabricai-roster status`); the
#      sandbox stops when the script ends, the stack stays for `fabricai-roster` to look at, and the last
#      lines say how to look again and how to remove it all (`rm -rf` of $WORK_ROOT/walkthrough/).
#
# WORK_ROOT is $FABRICAI_ROSTER_WORK if set, else .work/ in the repository (git ignores it).
# FABRICAI_ROSTER_PULUMI=/path/to/pulumi chooses the CLI; FABRICAI_ROSTER_PULUMI=none runs the stand-in.
# Re-running starts from scratch: $WORK_ROOT/walkthrough/ belongs to it, and nothing outside it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_ROOT="${FABRICAI_ROSTER_WORK:-$ROOT/.work}"
# Absolute from here on: the script changes directory before it uses some of these paths.
WORK_ROOT="$(mkdir -p "$WORK_ROOT" && cd "$WORK_ROOT" && pwd)"
WORK="$WORK_ROOT/walkthrough"
PROJECT="$WORK/project"
CLI_ROOT="$WORK_ROOT/pulumi-cli"
STACK=sandbox
BROKEN_STACK=sandbox-broken
SANDBOX_PID=""

# DEMO ONLY: this passphrase protects the fake sandbox keys of this walk-through and nothing else.
# For a real roster use your own passphrase (or a cloud KMS secrets provider) and keep it out of files.
# It goes to the CLI as a file only its owner can read ($WORK/passphrase), as README advises a firm.
DEMO_PASSPHRASE="fabricai-roster-walkthrough-demo-only"
unset PULUMI_CONFIG_PASSPHRASE
export PULUMI_CONFIG_PASSPHRASE_FILE="$WORK/passphrase"
export PULUMI_HOME="$WORK/pulumi-home"
# The walk-through's own backend: PULUMI_BACKEND_URL wins over any login and any Pulumi.yaml backend.
export PULUMI_BACKEND_URL="file://$WORK/state"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_SKIP_CONFIRMATIONS=true

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
fail() { printf 'walkthrough: %s\n' "$*" >&2; exit 1; }

stop_sandbox() {
    if [[ -n "$SANDBOX_PID" ]] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
        kill "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
    fi
}
trap stop_sandbox EXIT

# Pulumi's installer: quick to fail without internet (the script is small; the archive is not).
install_pulumi() {
    local installer="$WORK_ROOT/get-pulumi.sh"
    curl -fsSL --connect-timeout 10 --max-time 60 https://get.pulumi.com -o "$installer" 2>/dev/null \
        && sh "$installer" --install-root "$CLI_ROOT" --no-edit-path >"$WORK_ROOT/get-pulumi.log" 2>&1 \
        && [[ -x "$CLI_ROOT/bin/pulumi" ]]
}

# Prints the pulumi to use, or nothing when there is none and none can be had.
find_pulumi() {
    if [[ -n "${FABRICAI_ROSTER_PULUMI:-}" ]]; then
        [[ "$FABRICAI_ROSTER_PULUMI" != none ]] && echo "$FABRICAI_ROSTER_PULUMI"
        return 0
    fi
    if command -v pulumi >/dev/null 2>&1; then
        command -v pulumi
    elif [[ -x "$CLI_ROOT/bin/pulumi" ]]; then
        echo "$CLI_ROOT/bin/pulumi"
    elif say "No Pulumi CLI on PATH: trying Pulumi's installer" >&2 && install_pulumi; then
        echo "$CLI_ROOT/bin/pulumi"
    elif command -v go >/dev/null 2>&1; then
        say "The installer cannot be reached: building the CLI from Pulumi's Go modules" >&2
        say "(tools/pulumi/build.sh; the first build takes several minutes, later runs reuse it)" >&2
        local bin
        if bin="$(bash "$ROOT/tools/pulumi/build.sh")"; then
            echo "$bin/pulumi"
        fi
    fi
}

# -- 1. tools ---------------------------------------------------------------------------------------
step "1. Tools: the project's virtualenv (.venv) and the Pulumi CLI"
# The virtualenv comes first: whatever happens next, the project is installed.
if [[ ! -x "$ROOT/.venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$ROOT/.venv"    # PYTHON: another interpreter (3.11 or later) than python3
fi
PYTHON="$ROOT/.venv/bin/python"
if ! "$PYTHON" -c 'import provider, sandbox, uvicorn' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet --upgrade pip
    "$PYTHON" -m pip install --quiet -e "${ROOT}[sandbox]"
fi
say "$("$PYTHON" --version) in .venv"

PULUMI="$(find_pulumi)"
if [[ -z "$PULUMI" ]]; then
    say "No Pulumi CLI could be found, installed or built here."
    say "THE SAME STEPS NOW RUN ON THE PROJECT'S ENGINE STAND-IN (harness/), NOT ON THE PULUMI ENGINE."
    say "Install Pulumi (https://www.pulumi.com/docs/install/) or Go to see the real CLI."
    cd "$ROOT"
    exec "$PYTHON" -m scripts.driver_walkthrough
fi
PATH="$(dirname "$PULUMI"):$PATH"
export PATH
say "$("$PULUMI" version) at $PULUMI"

cd "$ROOT"
rm -rf "$WORK"
mkdir -p "$WORK/state" "$PULUMI_HOME" "$PROJECT/stacks"
(umask 077 && printf '%s' "$DEMO_PASSPHRASE" >"$PULUMI_CONFIG_PASSPHRASE_FILE")
# The walk-through's own project: the stack settings it writes land in $PROJECT/stacks/, never in the
# repository's stacks/ (where a firm's own stack named `sandbox` may live). The layout is the repository's:
# .venv at the root and stacks/.venv pointing at it (see Pulumi.yaml).
cp Pulumi.yaml "$PROJECT/Pulumi.yaml"
cp stacks/__main__.py "$PROJECT/stacks/__main__.py"
ln -s "$ROOT/.venv" "$PROJECT/.venv"
ln -s ../.venv "$PROJECT/stacks/.venv"

# -- 2. the sandbox -----------------------------------------------------------------------------------
step "2. The sandbox: local stand-ins for Procountor, Netvisor and the FabricAI portal"
"$PYTHON" -m sandbox --port 0 --scenario examples/sandbox.yaml --state "$WORK/sandbox.db" \
    >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
SANDBOX_URL=""
for _ in $(seq 100); do
    SANDBOX_URL="$(sed -n 's/^sandbox listening on \(http[^ ]*\).*/\1/p' "$WORK/sandbox.log")"
    [[ -n "$SANDBOX_URL" ]] && break
    kill -0 "$SANDBOX_PID" 2>/dev/null || fail "the sandbox did not start; see $WORK/sandbox.log"
    sleep 0.1
done
[[ -n "$SANDBOX_URL" ]] || fail "the sandbox did not start within 10 s; see $WORK/sandbox.log"
say "listening on $SANDBOX_URL (log: $WORK/sandbox.log)"

# -- 3. backend and secrets provider --------------------------------------------------------------
step "3. A project, a local state backend and a passphrase secrets provider of the walk-through's own (demo only)"
say "project: $PROJECT"
say "backend: $PULUMI_BACKEND_URL"
# Every pulumi command below runs in the walk-through's project.
cd "$PROJECT"

# Creates a stack from its example settings, points it at the sandbox, stores its demo secrets.
create_stack() {
    local stack="$1"
    cp "$ROOT/examples/Pulumi.$stack.yaml" "stacks/Pulumi.$stack.yaml"
    "$PULUMI" stack init "$stack" --secrets-provider passphrase
    "$PULUMI" config set --stack "$stack" fabricai:portalUrl "$SANDBOX_URL/portal"
    # Each demo secret goes in through stdin, so it never shows in the process list.
    local path value
    while IFS= read -r -d '' path && IFS= read -r -d '' value; do
        printf '%s' "$value" | "$PULUMI" config set --stack "$stack" --secret --path "$path"
    done < <(cd "$ROOT" && "$PYTHON" -m scripts.example_config secret-paths "$stack")
}

# -- 4. the roster, applied -------------------------------------------------------------------------
step "4. The roster of examples/Pulumi.sandbox.yaml: 4 Procountor and 3 Netvisor clients"
create_stack "$STACK"
say "The stack settings (secrets encrypted): $PROJECT/stacks/Pulumi.$STACK.yaml"
"$PULUMI" config --stack "$STACK"
"$PULUMI" up --stack "$STACK" --yes

# -- 5. rotation ------------------------------------------------------------------------------------
step "5. Rotate Öljy-Äijät Oy's Procountor API key and the firm's shared Netvisor credentials"
printf '%s' FAKE-pc-key-oljy-aijat-2 \
    | "$PULUMI" config set --stack "$STACK" --secret --path 'roster:procountorApiKeys["2925630-9"]'
"$PULUMI" config set --stack "$STACK" --path 'roster:netvisorCredentials["firm"]["customerId"]' TT_tase_api_2
printf '%s' FAKE-nv-customer-key-tase-2 \
    | "$PULUMI" config set --stack "$STACK" --secret --path 'roster:netvisorCredentials["firm"]["customerKey"]'
say "What would change: only the rotated integrations and the credential set (keys never shown)"
"$PULUMI" preview --stack "$STACK" --diff
"$PULUMI" up --stack "$STACK" --yes --skip-preview

# -- 6. drift -------------------------------------------------------------------------------------
step "6. Someone edits the portal by hand: one client changed, one deleted; pulumi refresh finds both"
(cd "$ROOT" && "$PYTHON" -m scripts.portal_drift "$SANDBOX_URL/portal" --change 2077474-0 --delete 0174592-8)
"$PULUMI" refresh --stack "$STACK" --yes
say "pulumi up puts the roster back: the changed client is patched, the deleted one registered again"
"$PULUMI" up --stack "$STACK" --yes --skip-preview

# -- 7. the broken clients --------------------------------------------------------------------------
step "7. Clients with every 'possible issue' of the guides (stack $BROKEN_STACK): failures ON PURPOSE"
say "Each failure below names the client, the cause and the fix in Procountor's or Netvisor's own words."
create_stack "$BROKEN_STACK"
if "$PULUMI" up --stack "$BROKEN_STACK" --yes --skip-preview --continue-on-error; then
    fail "the broken clients were expected to fail, and they did not"
fi
say "As expected: every client of $BROKEN_STACK failed with its fix. Nothing else was touched."

# -- 8. protect, then clean up -----------------------------------------------------------------------
step "8. Sauna-Saarinen Oy is protected: deleting it from the roster fails ON PURPOSE, nothing is deregistered"
cp "stacks/Pulumi.$STACK.yaml" "$WORK/Pulumi.$STACK.yaml.before"
"$PULUMI" config rm --stack "$STACK" --path 'roster:clients[3]'
"$PULUMI" config rm --stack "$STACK" --path 'roster:procountorApiKeys["2358253-3"]'
if "$PULUMI" up --stack "$STACK" --yes --skip-preview; then
    fail "the protected client was expected to refuse deregistration, and it did not"
fi
say "As expected: the protected client refused. The roster edit is taken back, and applied again:"
say "the refused run had recorded the edited roster's stack outputs; this run records the whole roster's."
cp "$WORK/Pulumi.$STACK.yaml.before" "stacks/Pulumi.$STACK.yaml"
"$PULUMI" up --stack "$STACK" --yes --skip-preview

step "8. Destroy the broken stack: its clients are deregistered, the stack removed"
"$PULUMI" destroy --stack "$BROKEN_STACK" --yes --skip-preview
"$PULUMI" stack rm "$BROKEN_STACK" --yes

# -- 9. the operator's command on the stack that stays -----------------------------------------------
step "9. The stack $STACK stays: the operator's command shows every client of it"
STATUS=0
"$PYTHON" -m provider.cli.main --stack "$STACK" status || STATUS=$?
say "fabricai-roster status: exit status $STATUS (0: all is well; 1: problems, each listed)"

step "Done. The sandbox stops now; the stack $STACK stays in the walk-through's backend."
say "Look at it again with the operator's command (it reads the stack's state; the sandbox is not needed):"
say "  cd $PROJECT"
say "  export PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_HOME=$PULUMI_HOME"
say "  export PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE   # the demo's passphrase"
say "  $PYTHON -m provider.cli.main --stack $STACK status"
say "Remove it, and everything else of the walk-through, with: rm -rf $WORK"
say "(the stack's state and settings and the sandbox's data are all there; nothing of yours is)."
