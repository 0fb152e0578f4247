package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/kjet-dev/kjet/internal/cli"
	"github.com/kjet-dev/kjet/internal/server"
)

// runOptions are the flags of `kjet run`.
type runOptions struct {
	File       string
	Kubeconfig string
	Namespace  string
	Keep       bool
	Quiet      bool
}

// exitCodeError carries kjet run's exit code to main.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

func newRunCommand(env rootEnv, g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run -f FILE",
		Short: "Run a Job manifest to its end, with live progress and logs",
		Long: `Apply every object in FILE ("-" for standard input) and follow its Jobs and Pods
to their end, streaming their logs. Uses the cluster of --kubeconfig or $KUBECONFIG, else
a kjet server running on the data dir, else an embedded server on a temporary data dir.
Exit codes: 0 every Job completed, 1 a Job failed, 2 bad input (nothing created),
130 interrupted (what was created is deleted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.File == "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "error: -f FILE is required")
				return exitCodeError{cli.ExitBadInput}
			}
			code := o.run(env.ctx, g, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "manifest to run (- reads standard input)")
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "cluster to use (default $KUBECONFIG, else a running kjet server, else an embedded one)")
	cmd.Flags().StringVarP(&o.Namespace, "namespace", "n", "", "namespace for objects that name none (default \"default\")")
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "keep the embedded server's data dir and print where it is")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "show only the final summary")
	return cmd
}

func (o *runOptions) run(ctx context.Context, g *globalOptions, stdin io.Reader, out, errOut io.Writer) int {
	silenceKlog()
	kubeconfig := o.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	dataDir := g.DataDir
	if dataDir == "" {
		if d, err := server.DefaultDataDir(); err == nil {
			dataDir = d
		}
	}
	terminal := false
	if f, ok := out.(*os.File); ok {
		terminal = term.IsTerminal(int(f.Fd()))
	}
	return cli.Run(ctx, cli.Options{
		File:      o.File,
		Namespace: o.Namespace,
		Quiet:     o.Quiet,
		Terminal:  terminal,
		Stdin:     stdin,
		Out:       out,
		ErrOut:    errOut,
		Connect: cli.Connector(cli.ConnectOptions{
			Kubeconfig: kubeconfig,
			DataDir:    dataDir,
			Keep:       o.Keep,
			Start:      startEmbedded,
		}),
	})
}

// startEmbedded runs an all-in-one server in this process on dataDir and returns once it
// serves requests.
func startEmbedded(ctx context.Context, dataDir string) (string, func() error, error) {
	serverCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := newReadyWatcher()
	opts, err := (&serverOptions{Listen: "127.0.0.1:0", NodeName: "kjet-run", MaxPods: 110, JobBackoffBase: 10 * time.Second}).serverOptions(dataDir)
	if err != nil {
		cancel()
		return "", nil, err
	}
	opts.Stderr = ready
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() { done <- server.Run(serverCtx, opts) }()
	select {
	case <-ready.ch:
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("the embedded server stopped before it was ready")
		}
		return "", nil, err
	case <-ctx.Done():
		cancel()
		<-done
		return "", nil, ctx.Err()
	}
	stop := func() error {
		cancel()
		return <-done
	}
	return filepath.Join(dataDir, server.KubeconfigFile), stop, nil
}

// readyWatcher is the embedded server's stderr: it closes ch at the "kjet ready:" line
// and drops everything else.
type readyWatcher struct {
	ch   chan struct{}
	once sync.Once
	mu   sync.Mutex // guards buf
	buf  bytes.Buffer
}

func newReadyWatcher() *readyWatcher { return &readyWatcher{ch: make(chan struct{})} }

func (w *readyWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("kjet ready: ")) {
		w.once.Do(func() { close(w.ch) })
		w.buf.Reset()
	}
	if w.buf.Len() > 4096 {
		w.buf.Reset()
	}
	return len(p), nil
}

// silenceKlog keeps client-go's and the embedded controllers' klog lines out of kjet
// run's output.
func silenceKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}
