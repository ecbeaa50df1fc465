package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/spf13/cobra"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// common are the flags every command that runs a scenario takes.
type common struct {
	runtime string
	images  []string
	sets    []string
	fakeApp string
	verbose bool
}

func (c *common) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.runtime, "runtime", "local", "where the topology runs (allowed: local, docker)")
	cmd.Flags().StringArrayVar(&c.images, "image", nil, "docker runtime: use this image for a part, PART=IMAGE (parts: fakeapp, nginx, haproxy, redis; default from SESSIONLAB_IMAGE_<PART>, else the ones `make images` builds)")
	cmd.Flags().StringArrayVar(&c.sets, "set", nil, "override a scenario key, KEY=VALUE (repeatable), e.g. --set balancer.strategy=ip-hash")
	cmd.Flags().StringVar(&c.fakeApp, "fakeapp", "", "fakeapp binary to run as the replicas (default: beside sessionlab, else built with the go tool)")
	cmd.Flags().BoolVarP(&c.verbose, "verbose", "v", false, "log progress to stderr")
}

// options turns the flags into harness options. cleanup removes what they created (a built fakeapp).
func (c *common) options(ctx context.Context) (opts []harness.Option, cleanup func(), err error) {
	rt, cleanup, err := c.newRuntime(ctx)
	if err != nil {
		return nil, cleanup, err
	}
	opts = append(opts, harness.WithRuntime(rt))
	if c.verbose {
		opts = append(opts, harness.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	}
	return opts, cleanup, nil
}

func (c *common) newRuntime(ctx context.Context) (harness.Runtime, func(), error) {
	switch c.runtime {
	case "local":
		if len(c.images) > 0 {
			return nil, func() {}, fmt.Errorf("--image applies to --runtime docker only")
		}
		bin := c.fakeApp
		if bin == "" {
			bin = harness.LocateFakeApp()
		}
		if bin != "" {
			return harness.NewLocal(harness.WithFakeAppBinary(bin)), func() {}, nil
		}
		// Build once for all the runs of this command rather than once per run.
		bin, err := harness.BuildFakeApp(ctx, "")
		if err != nil {
			return nil, func() {}, err
		}
		return harness.NewLocal(harness.WithFakeAppBinary(bin)), func() { os.RemoveAll(filepath.Dir(bin)) }, nil
	case "docker":
		images, err := parseImages(c.images)
		if err != nil {
			return nil, func() {}, err
		}
		if c.verbose {
			tclog.SetDefault(stdlog.New(os.Stderr, "", 0))
		}
		return harness.NewDocker(harness.WithImages(images)), func() {}, nil
	}
	return nil, func() {}, fmt.Errorf("--runtime %q is not known (allowed: local, docker)", c.runtime)
}

func parseImages(flags []string) (harness.Images, error) {
	var im harness.Images
	for _, f := range flags {
		part, image, ok := strings.Cut(f, "=")
		dst := map[string]*string{"fakeapp": &im.FakeApp, "nginx": &im.Nginx, "haproxy": &im.HAProxy, "redis": &im.Redis}[part]
		if !ok || image == "" || dst == nil {
			return im, fmt.Errorf("--image %s: want PART=IMAGE with PART one of fakeapp, nginx, haproxy, redis", f)
		}
		*dst = image
	}
	return im, nil
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sessionlab",
		Short:         "Measure what a load balancer does to logged-in users of a stateful app",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newCompareCmd(), newCleanupCmd())
	return root
}

func newRunCmd() *cobra.Command {
	var c common
	var format, eventsPath string
	cmd := &cobra.Command{
		Use:   "run [flags] FILE.yaml",
		Short: "Run one scenario and print its report",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			s, err := harness.Load(args[0], c.sets...)
			if err != nil {
				return err
			}
			opts, cleanup, err := c.options(cmd.Context())
			defer cleanup()
			if err != nil {
				return err
			}
			if eventsPath != "" {
				f, err := os.Create(eventsPath)
				if err != nil {
					return fmt.Errorf("--events: %w", err)
				}
				defer f.Close()
				opts = append(opts, harness.WithEvents(f))
			}
			rep, err := harness.Run(cmd.Context(), s, opts...)
			if err != nil {
				return err
			}
			if err := reports.Render(cmd.OutOrStdout(), format, rep); err != nil {
				return err
			}
			return unmet(rep)
		},
	}
	c.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "report format (allowed: "+strings.Join(reports.Formats, ", ")+")")
	cmd.Flags().StringVar(&eventsPath, "events", "", "write the event log (JSON lines, one per request) to this file")
	return cmd
}

func newCompareCmd() *cobra.Command {
	var c common
	var format, strategies, balancers string
	cmd := &cobra.Command{
		Use:   "compare --strategies A,B,... [--balancers nginx,haproxy] [flags] FILE.yaml",
		Short: "Run one scenario under several strategies (and balancers) and print them side by side",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			kinds, err := balancerList(args[0], balancers, c.sets)
			if err != nil {
				return err
			}
			// Load every variant before starting anything, so a bad name starts nothing. A pair the balancer cannot
			// run is a row that says so, not an error.
			type variant struct {
				scenario *harness.Scenario
				skipped  *reports.Report
			}
			var variants []variant
			for _, kind := range kinds {
				for _, strategy := range splitList(strategies) {
					if why := harness.Unsupported(kind, strategy); why != "" {
						variants = append(variants, variant{skipped: reports.Skipped(kind, strategy, why)})
						continue
					}
					s, err := harness.Load(args[0], append(slices.Clone(c.sets), "balancer.kind="+kind, "balancer.strategy="+strategy)...)
					if err != nil {
						return err
					}
					variants = append(variants, variant{scenario: s})
				}
			}
			opts, cleanup, err := c.options(cmd.Context())
			defer cleanup()
			if err != nil {
				return err
			}
			var reps []*reports.Report
			for _, v := range variants {
				if v.skipped != nil {
					reps = append(reps, v.skipped)
					continue
				}
				rep, err := harness.Run(cmd.Context(), v.scenario, opts...)
				if err != nil {
					return fmt.Errorf("%s %s: %w", v.scenario.Balancer.Kind, v.scenario.Balancer.Strategy, err)
				}
				reps = append(reps, rep)
			}
			if err := renderCompare(cmd.OutOrStdout(), format, reps); err != nil {
				return err
			}
			return unmet(reps...)
		},
	}
	c.register(cmd)
	cmd.Flags().StringVar(&strategies, "strategies", "round-robin,ip-hash", "comma-separated strategies (allowed: "+strings.Join(harness.Strategies, ", ")+")")
	cmd.Flags().StringVar(&balancers, "balancers", "", "comma-separated balancer kinds (allowed: nginx, haproxy; default: the scenario's balancer.kind)")
	cmd.Flags().StringVar(&format, "format", "text", "output format (allowed: "+strings.Join(reports.Formats, ", ")+")")
	return cmd
}

// balancerList is the --balancers list, or the scenario's own kind.
func balancerList(path, flag string, sets []string) ([]string, error) {
	if flag != "" {
		kinds := splitList(flag)
		for _, k := range kinds {
			if !slices.Contains(harness.BalancerKinds, k) {
				return nil, fmt.Errorf("--balancers: %q is not a balancer (allowed: %s)", k, strings.Join(harness.BalancerKinds, ", "))
			}
		}
		return kinds, nil
	}
	s, err := harness.Load(path, sets...)
	if err != nil {
		return nil, err
	}
	return []string{s.Balancer.Kind}, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func renderCompare(w io.Writer, format string, reps []*reports.Report) error {
	return reports.RenderCompare(w, format, reps)
}

func checkFormat(format string) error {
	for _, f := range reports.Formats {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("--format %q is not known (allowed: %s)", format, strings.Join(reports.Formats, ", "))
}

func unmet(reps ...*reports.Report) error {
	n := 0
	for _, r := range reps {
		for _, e := range r.Expectations {
			if !e.OK {
				n++
			}
		}
	}
	if n > 0 {
		return unmetError{n}
	}
	return nil
}

func newCleanupCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what runs that were killed left behind: processes, working directories, containers, networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			swept, err := harness.SweepLocal()
			fmt.Fprintf(out, "local: removed %d working directories, stopped %d processes\n", len(swept.Dirs), len(swept.Processes))
			if derr := harness.DockerAvailable(cmd.Context()); derr != nil {
				fmt.Fprintf(out, "docker: skipped (%v)\n", derr)
				return err
			}
			dswept, derr := harness.SweepDocker(cmd.Context(), all)
			fmt.Fprintf(out, "docker: removed %d containers, %d networks\n", len(dswept.Containers), len(dswept.Networks))
			return errors.Join(err, derr)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "docker: remove every sessionlab container and network, also those of runs still going")
	return cmd
}
