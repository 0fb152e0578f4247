package main

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kjet-dev/kjet/internal/server"
)

func newKubectlCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl [ARGS...]",
		Short: "Run kubectl against this kjet (DATA_DIR/kubeconfig unless KUBECONFIG or --kubeconfig is given)",
		// kubectl parses its own flags.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			kubeconfig, err := defaultKubeconfig(g.DataDir)
			if err != nil {
				return err
			}
			runKubectl(args, kubeconfig)
			return nil
		},
	}
}

// defaultKubeconfig is the kubeconfig kubectl uses when neither KUBECONFIG nor
// --kubeconfig names one: DATA_DIR/kubeconfig. Empty when KUBECONFIG is set.
func defaultKubeconfig(dataDir string) (string, error) {
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "" {
		return "", nil
	}
	if dataDir == "" {
		d, err := server.DefaultDataDir()
		if err != nil {
			return "", err
		}
		dataDir = d
	}
	return filepath.Join(dataDir, server.KubeconfigFile), nil
}

// runKubectl runs the embedded kubectl with args the way kubectl's own main does; like
// it, a failing command exits the process with kubectl's exit code.
func runKubectl(args []string, kubeconfig string) {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	configFlags := genericclioptions.NewConfigFlags(true).
		WithDeprecatedPasswordFlag().
		WithDiscoveryBurst(300).
		WithDiscoveryQPS(50.0).
		WithWarningPrinter(streams)
	if kubeconfig != "" {
		// --kubeconfig on the command line still wins: flag parsing overwrites this.
		*configFlags.KubeConfig = kubeconfig
	}
	kubectl := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
		Arguments:     append([]string{"kubectl"}, args...),
		ConfigFlags:   configFlags,
		IOStreams:     streams,
	})
	kubectl.SetArgs(args)
	// As kubectl's main does (through component-base/cli): klog's -v and --vmodule
	// flags, usage only for flag errors, errors printed by CheckErr.
	logFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(logFlags)
	for _, name := range []string{"v", "vmodule"} {
		kubectl.PersistentFlags().AddGoFlag(logFlags.Lookup(name))
	}
	kubectl.SilenceErrors = true
	kubectl.SilenceUsage = true
	kubectl.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		c.SilenceUsage = false
		return err
	})
	err := kubectl.Execute()
	klog.Flush()
	if err != nil {
		cmdutil.CheckErr(err)
	}
}
