package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

func newDoctorCmd() *cobra.Command {
	var rt string
	var sets []string
	cmd := &cobra.Command{
		Use:   "doctor [--runtime local|docker] [FILE.yaml]",
		Short: "Say what runs need on this machine and what it has; with a scenario, exit 1 when something it needs is missing",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s *scenario.Scenario
			if len(args) == 1 {
				var err error
				if s, err = scenario.Load(args[0], sets...); err != nil {
					return err
				}
			}
			if rt != "local" && rt != "docker" {
				return fmt.Errorf("--runtime %q is not known (allowed: local, docker)", rt)
			}
			reqs, err := harness.Doctor(cmd.Context(), s, rt)
			if err != nil {
				return err
			}
			missing := printRequirements(cmd.OutOrStdout(), reqs)
			if s == nil || missing == 0 {
				return nil
			}
			return unmetError{n: missing, what: fmt.Sprintf("%s needs %d missing part(s) on the %s runtime", args[0], missing, rt)}
		},
	}
	cmd.Flags().StringVar(&rt, "runtime", "local", "with a scenario, the runtime it is to run on (allowed: local, docker)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a scenario key, KEY=VALUE (repeatable)")
	return cmd
}

// printRequirements writes one line per requirement and, for the missing ones, how to install them; it returns how
// many are missing.
func printRequirements(w io.Writer, reqs []harness.Requirement) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tSTATE\tWHERE / HOW TO INSTALL\tFOR")
	var missing []string
	var apt []string
	for _, r := range reqs {
		if r.Missing != nil {
			fmt.Fprintf(tw, "%s\tmissing\t%s (%v)\t%s\n", r.Name, r.Command, r.Missing, r.For)
			missing = append(missing, r.Name)
			if pkg, ok := strings.CutPrefix(r.Command, "apt-get install "); ok {
				apt = append(apt, pkg)
			}
			continue
		}
		fmt.Fprintf(tw, "%s\tfound\t%s %s\t%s\n", r.Name, r.Path, r.Version, r.For)
	}
	tw.Flush()
	if len(apt) > 0 {
		fmt.Fprintf(w, "\nThe Debian packages: sudo apt-get install --no-install-recommends %s\n", strings.Join(apt, " "))
	}
	return len(missing)
}

func newInstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "install NAME...",
		Short: "Build a Go program sessionlab runs (caddy, oauth2-proxy) at its pinned version into the per-user tool cache, once",
		Long: "Build each named program from the Go module proxy at the version this sessionlab pins, into the per-user " +
			"tool cache ($SESSIONLAB_TOOLS, else sessionlab/tools in the user's cache directory), where every checkout, CI " +
			"run, test binary and installed CLI finds it. A program already there is not built again. The Debian " +
			"packages (nginx, haproxy, redis-server) are apt's: `sessionlab doctor` prints the line.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reqs, err := harness.Doctor(cmd.Context(), nil, "local")
			if err != nil {
				return err
			}
			for _, name := range args {
				r, ok := requirement(reqs, name)
				if !ok {
					return fmt.Errorf("install %s: not a program sessionlab runs (see sessionlab doctor)", name)
				}
				path, err := r.Build(cmd.Context(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, path)
			}
			return nil
		},
	}
}

func requirement(reqs []harness.Requirement, name string) (harness.Requirement, bool) {
	for _, r := range reqs {
		if r.Name == name {
			return r, true
		}
	}
	return harness.Requirement{}, false
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sessionlab's module version and the versions of the balancers and tools this machine has",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "sessionlab %s\n", moduleVersion())
			reqs, err := harness.Doctor(cmd.Context(), nil, "local")
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			for _, r := range reqs {
				v := r.Version
				if r.Missing != nil {
					v = "not found"
				}
				fmt.Fprintf(tw, "  %s\t%s\n", r.Name, v)
			}
			return tw.Flush()
		},
	}
}

// moduleVersion is the version go install built (a tag, or a pseudo-version), or "(devel)" for a checkout's build.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(unknown)"
}
