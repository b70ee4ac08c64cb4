// Command pulumi-language-python is this project's Python language host for the Pulumi CLI.
//
// Pulumi's own host is a Go module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that
// the Go module proxy does not serve, so the CLI built by tools/pulumi/build.sh gets this one instead. It
// implements what `pulumi up|preview|refresh|destroy` ask of a language host for a plain Python program:
// plugin info, the (empty) list of required packages, and Run, which starts the program with the Python of
// the virtualenv named in Pulumi.yaml through the exec helper that sits beside this binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
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

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
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

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	interpreter, venv, err := python(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "locating the language host: %v", err)
	}
	helper := filepath.Join(filepath.Dir(self), execHelper)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding config: %v", err)
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding config secret keys: %v", err)
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
		req.GetProgram(),
	}
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(ctx, interpreter, args...) //nolint:gosec // the engine chose the program
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	if venv != "" {
		cmd.Env = append(cmd.Env,
			"VIRTUAL_ENV="+venv,
			"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		)
	}

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == bailExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("the Python program exited with code %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("starting %s: %v", interpreter, err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func main() {
	// The engine passes its own address as the last argument (flags such as -tracing may precede it).
	h := &host{}
	if len(os.Args) > 1 {
		h.engineAddress = os.Args[len(os.Args)-1]
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
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
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}
