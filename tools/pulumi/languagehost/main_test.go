package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestProgramPathIsTheEntryPointInTheProgramDirectory(t *testing.T) {
	cases := map[string]string{
		".":          "/firm/stacks",
		"":           "/firm/stacks",
		"main.py":    "/firm/stacks/main.py",
		"/abs/x.py":  "/abs/x.py",
		"sub/app.py": "/firm/stacks/sub/app.py",
	}
	for entry, want := range cases {
		got, err := programPath(&pulumirpc.ProgramInfo{ProgramDirectory: "/firm/stacks", EntryPoint: entry})
		if err != nil || got != want {
			t.Errorf("entry point %q: got %q, %v; want %q", entry, got, err, want)
		}
	}
	if _, err := programPath(nil); err == nil {
		t.Error("a request without program information must be refused, not run from the deprecated field")
	}
}

func TestRunProgramAnswersByExitCode(t *testing.T) {
	cases := []struct {
		script    string
		bail      bool
		errorPart string
	}{
		{"exit 0", false, ""},
		{"exit 32", true, ""},
		{"exit 3", false, "exited with code 3"},
	}
	for _, c := range cases {
		got := runProgram(context.Background(), "/bin/sh", []string{"-c", c.script}, os.Environ(), t.TempDir())
		if got.GetBail() != c.bail || !strings.Contains(got.GetError(), c.errorPart) ||
			(c.errorPart == "" && got.GetError() != "") {
			t.Errorf("%q: got bail=%v error=%q", c.script, got.GetBail(), got.GetError())
		}
	}
}

// startProgram runs a shell script as the program and waits (bounded) until it says it is running.
func startProgram(t *testing.T, script string) (context.CancelFunc, <-chan *pulumirpc.RunResponse, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	answer := make(chan *pulumirpc.RunResponse, 1)
	go func() { answer <- runProgram(ctx, "/bin/sh", []string{"-c", script}, os.Environ(), dir) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "running")); err == nil {
			return cancel, answer, dir
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the program did not start within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestACancelledRunInterruptsTheProgram(t *testing.T) {
	cancel, answer, dir := startProgram(t,
		`trap 'touch interrupted; exit 7' INT; touch running; while :; do sleep 0.05; done`)
	started := time.Now()
	cancel()
	got := <-answer
	if _, err := os.Stat(filepath.Join(dir, "interrupted")); err != nil {
		t.Fatalf("the program was not interrupted (SIGINT) first: %v; answer %q", err, got.GetError())
	}
	if took := time.Since(started); took >= interruptGrace {
		t.Errorf("an interrupted program that ends at once took %v", took)
	}
	if !strings.Contains(got.GetError(), "stopped") {
		t.Errorf("answer: %q", got.GetError())
	}
}

func TestAProgramIgnoringTheInterruptIsKilledAfterTheGrace(t *testing.T) {
	cancel, answer, _ := startProgram(t, `trap '' INT; touch running; while :; do sleep 0.05; done`)
	started := time.Now()
	cancel()
	select {
	case <-answer:
	case <-time.After(interruptGrace + 10*time.Second):
		t.Fatal("the program was not killed")
	}
	if took := time.Since(started); took < interruptGrace-500*time.Millisecond {
		t.Errorf("killed after %v, before the %v grace", took, interruptGrace)
	}
}

func TestTheHostStopsWhenTheEngineIsGone(t *testing.T) {
	stopEngine := make(chan bool)
	engine, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{Cancel: stopEngine})
	if err != nil {
		t.Fatal(err)
	}
	lifetime, stop := context.WithCancel(context.Background())
	defer stop()
	address := "127.0.0.1:" + strconv.Itoa(engine.Port)
	if err := watchEngine(lifetime, address, 50*time.Millisecond, stop); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lifetime.Done():
		t.Fatal("the host stopped while the engine was answering")
	case <-time.After(500 * time.Millisecond):
	}
	close(stopEngine)
	<-engine.Done
	select {
	case <-lifetime.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the host did not notice within 10 s that the engine was gone")
	}
}

func TestAStackWithoutConfigGetsAnEmptyObjectAndList(t *testing.T) {
	config, secretKeys, err := configEnvironment(&pulumirpc.RunRequest{})
	if err != nil || string(config) != "{}" || string(secretKeys) != "[]" {
		t.Errorf("got %s, %s, %v; want {}, [] (the SDK fails on null)", config, secretKeys, err)
	}
	config, secretKeys, err = configEnvironment(&pulumirpc.RunRequest{
		Config: map[string]string{"roster:allowEmpty": "true"}, ConfigSecretKeys: []string{"fabricai:apiKey"},
	})
	if err != nil || string(config) != `{"roster:allowEmpty":"true"}` || string(secretKeys) != `["fabricai:apiKey"]` {
		t.Errorf("got %s, %s, %v", config, secretKeys, err)
	}
}
