// Command pulumi-language-python is this project's Python language host for the Pulumi CLI.
//
// Pulumi's own host is a Go module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that
// the Go module proxy does not serve, so the CLI built by tools/pulumi/build.sh gets this one instead. It
// implements what `pulumi up|preview|refresh|destroy` ask of a language host for a plain Python program:
// plugin info, the (empty) list of required packages, and Run, which starts the program with the Python of
// the virtualenv named in Pulumi.yaml through the exec helper that sits beside this binary.
//
// Its lifetime follows the engine's, as Pulumi's own hosts do: it stops when the engine interrupts it
// (SIGINT, which the engine sends to the host's process group when it closes the host) and when the engine
// stops answering its health check (a `pulumi up` killed with SIGKILL sends nothing), so no host and no
// program outlives the run that started them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set at build time to the version of the `pulumi` Python SDK the project pins.
var version = "0.0.0"

// bailExitCode is what the exec helper exits with after it has shown the user an actionable message.
const bailExitCode = 32

// execHelper is the Python script, installed beside this binary, that runs a program under the engine.
const execHelper = "pulumi-language-python-exec"

// interruptGrace is how long a program has to end after its run is cancelled before it is killed: the
// interrupt lets the SDK finish what it is telling the engine; the same grace Pulumi gives its plugins.
const interruptGrace = 5 * time.Second

// engineCheckInterval is how often the host asks whether the engine is still there. Pulumi's hosts ask
// every 5 minutes; a host (and through it a program) left behind by a killed `pulumi up` must not keep
// running that long, and a health check against the engine on this machine costs well under a millisecond.
const engineCheckInterval = 2 * time.Second

// shutdownBound is how long the host waits, once it is told to stop, for a running program to end (it is
// interrupted, then killed after interruptGrace) before it exits anyway.
const shutdownBound = interruptGrace + 10*time.Second

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	// lifetime ends when the host is told to stop (interrupt, engine gone); a running program is then
	// interrupted even if the engine's call that started it is still open.
	lifetime context.Context
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// A dynamic-provider program needs no plugin the engine would have to install: the engine finds the
// dynamic provider (pulumi-resource-pulumi-python) beside the CLI when the first resource needs it.
func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins( //nolint:staticcheck // the engine still falls back to it
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// python returns the interpreter for the program: the virtualenv named in Pulumi.yaml (relative to the
// project root), else $PULUMI_PYTHON_CMD, else python3.
func python(info *pulumirpc.ProgramInfo) (string, string, error) {
	venv := ""
	if options := info.GetOptions(); options != nil {
		if value, ok := options.GetFields()["virtualenv"]; ok {
			venv = value.GetStringValue()
		}
	}
	if venv == "" {
		if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
			return cmd, "", nil
		}
		return "python3", "", nil
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(info.GetRootDirectory(), venv)
	}
	interpreter := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(interpreter); err != nil {
		return "", "", fmt.Errorf(
			"the virtualenv %q named in Pulumi.yaml has no bin/python: create it with "+
				"`python3 -m venv %s && %s/bin/pip install -e .` (scripts/test.sh does this)", venv, venv, venv)
	}
	return interpreter, venv, nil
}

// programPath is the program the engine asks for: the entry point (often ".", the program's folder, whose
// __main__.py runs) relative to the program directory, both from RunRequest.info. The request's own
// `program` field is deprecated in favour of these, so it is not read.
func programPath(info *pulumirpc.ProgramInfo) (string, error) {
	if info == nil || info.GetProgramDirectory() == "" {
		return "", errors.New("the engine sent no program information (RunRequest.info): " +
			"this language host needs the Pulumi CLI that tools/pulumi/build.sh builds")
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	if filepath.IsAbs(entry) {
		return entry, nil
	}
	return filepath.Join(info.GetProgramDirectory(), entry), nil
}

// configEnvironment is the stack's config and its secret keys as the SDK reads them from PULUMI_CONFIG and
// PULUMI_CONFIG_SECRET_KEYS: a JSON object and a JSON list, also when empty (the SDK fails on "null", which is
// what a stack without config would otherwise get).
func configEnvironment(req *pulumirpc.RunRequest) ([]byte, []byte, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	encodedConfig, err := json.Marshal(config)
	if err != nil {
		return nil, nil, err
	}
	encodedKeys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, nil, err
	}
	return encodedConfig, encodedKeys, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	interpreter, venv, err := python(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	program, err := programPath(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "locating the language host: %v", err)
	}
	helper := filepath.Join(filepath.Dir(self), execHelper)

	config, secretKeys, err := configEnvironment(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding config: %v", err)
	}

	args := []string{
		"-u", helper,
		"--project", req.GetProject(),
		"--root_directory", req.GetInfo().GetRootDirectory(),
		"--stack", req.GetStack(),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--pwd", req.GetPwd(),
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--organization", req.GetOrganization(),
		program,
	}
	args = append(args, req.GetArgs()...)

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	if venv != "" {
		env = append(env,
			"VIRTUAL_ENV="+venv,
			"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		)
	}

	// The program stops when the engine's call ends (the engine cancelled it, or went away) or when the host
	// is told to stop.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if h.lifetime != nil {
		defer context.AfterFunc(h.lifetime, stop)()
	}
	return runProgram(runCtx, interpreter, args, env, req.GetPwd()), nil
}

// runProgram runs the program and turns how it ended into the engine's answer. A cancelled run interrupts
// the program first (SIGINT: Python raises KeyboardInterrupt, the SDK's calls end cleanly) and kills it only
// if it is still running interruptGrace later, as Pulumi's own hosts treat their children.
func runProgram(ctx context.Context, interpreter string, args, env []string, dir string) *pulumirpc.RunResponse {
	cmd := exec.CommandContext(ctx, interpreter, args...) //nolint:gosec // the engine chose the program
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace

	err := cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}
		}
		if ctx.Err() != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("the Python program was stopped (%s)", exitErr)}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("the Python program exited with code %d", exitErr.ExitCode()),
		}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("starting %s: %v", interpreter, err)}
}

// watchEngine ends the host's lifetime when the engine stops answering its health check (rpcutil.Healthcheck,
// which Pulumi's own plugins use; an engine that does not implement the check counts as alive).
func watchEngine(ctx context.Context, engineAddress string, interval time.Duration, stop context.CancelFunc) error {
	if engineAddress == "" {
		return nil
	}
	return rpcutil.Healthcheck(ctx, engineAddress, interval, stop)
}

func main() {
	// The engine passes its own address as the last argument (flags such as -tracing may precede it).
	engineAddress := ""
	if len(os.Args) > 1 {
		engineAddress = os.Args[len(os.Args)-1]
	}
	// The host's lifetime: until the engine interrupts it or is gone.
	lifetime, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := watchEngine(lifetime, engineAddress, engineCheckInterval, stop); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: watching the engine at %s: %v\n", engineAddress, err)
		os.Exit(1)
	}
	h := &host{engineAddress: engineAddress, lifetime: lifetime}
	stopServing := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of our stdout.
	fmt.Printf("%d\n", handle.Port)

	select {
	case err := <-handle.Done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
			os.Exit(1)
		}
		return
	case <-lifetime.Done():
	}
	// Told to stop: a graceful stop waits for a running program, which the lifetime's end has interrupted
	// (and kills interruptGrace later); past shutdownBound the host leaves regardless.
	close(stopServing)
	select {
	case <-handle.Done:
	case <-time.After(shutdownBound):
		fmt.Fprintln(os.Stderr, "pulumi-language-python: a call was still running when the host had to stop")
		os.Exit(1)
	}
}
