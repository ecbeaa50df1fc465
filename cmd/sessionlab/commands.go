package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	goruntime "runtime"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/docker"
	"github.com/sessionlab/sessionlab/harness/k8s"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/spf13/cobra"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// common are the flags every command that runs a scenario takes.
type common struct {
	runtime  string
	images   []string
	sets     []string
	fakeApp  string
	verbose  bool
	progress *progress
	target   string // run: a live URL instead of a topology
	procs    int
}

// defaultProcs is how many threads run the command's Go code at once unless --procs or $GOMAXPROCS says otherwise.
// The command's own work is the simulated users, who mostly wait on the system under test: one thread keeps up with
// them, and a second one costs more CPU per request in wake-ups and hand-overs between threads while it competes for
// the cores the balancer and the replicas need (measured in docs/performance.md, "What the users cost").
const defaultProcs = 1

func (c *common) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.runtime, "runtime", "local", "where the topology runs (allowed: local, docker)")
	cmd.Flags().StringArrayVar(&c.images, "image", nil, "docker runtime: use this image for a part, PART=IMAGE (parts: fakeapp, nginx, haproxy, caddy, redis; default from SESSIONLAB_IMAGE_<PART>, else the ones `make images` builds)")
	cmd.Flags().StringArrayVar(&c.sets, "set", nil, "override a scenario key, KEY=VALUE (repeatable), e.g. --set balancer.strategy=ip-hash")
	cmd.Flags().StringVar(&c.fakeApp, "fakeapp", "", "fakeapp binary to run as the replicas (default: this sessionlab binary, which serves the fake app itself)")
	cmd.Flags().BoolVarP(&c.verbose, "verbose", "v", false, "log progress to stderr")
	cmd.Flags().IntVar(&c.procs, "procs", defaultProcs, "threads running the simulated users at once (Go's GOMAXPROCS; default 1, or $GOMAXPROCS when set); raise it when one core cannot keep up with the requests a run sends")
}

// begin is what every command that runs scenarios does first: it checks --format and applies --procs. restore
// puts back what --procs changed.
func (c *common) begin(cmd *cobra.Command, out *output) (restore func(), err error) {
	if _, err := out.list(); err != nil {
		return func() {}, err
	}
	return c.setProcs(cmd)
}

// setProcs applies --procs, or leaves $GOMAXPROCS when that is set and the flag is not given; restore puts back
// what was there, for a command run inside another program (the tests).
func (c *common) setProcs(cmd *cobra.Command) (restore func(), err error) {
	if c.procs < 1 || c.procs > 1024 {
		return func() {}, fmt.Errorf("--procs %d: allowed 1 to 1024", c.procs)
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); set && !cmd.Flags().Changed("procs") {
		return func() {}, nil
	}
	prev := goruntime.GOMAXPROCS(c.procs)
	return func() { goruntime.GOMAXPROCS(prev) }, nil
}

// options turns the flags into harness options.
func (c *common) options(quiet bool) (opts []harness.Option, err error) {
	rt, err := c.newRuntime()
	if err != nil {
		return nil, err
	}
	if rt != nil {
		opts = append(opts, harness.WithRuntime(rt))
	}
	// A second Ctrl-C stops every part of the run at once (main's interrupts).
	opts = append(opts, harness.WithCleanup(signals.register))
	if c.verbose {
		opts = append(opts, harness.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	} else if c.progress = newProgress(os.Stderr, quiet); c.progress != nil {
		// A log line per step and a redrawn line would tangle; -v wins.
		opts = append(opts, harness.WithWatcher(c.progress))
	}
	return opts, nil
}

// finish takes the progress line off the terminal before anything else is printed.
func (c *common) finish() {
	if c.progress != nil {
		c.progress.Finish()
	}
}

// newRuntime is the runtime the flags choose; nil for a live target, which the harness runs itself.
func (c *common) newRuntime() (harness.Runtime, error) {
	if c.target != "" {
		return nil, nil
	}
	switch c.runtime {
	case "local":
		if len(c.images) > 0 {
			return nil, fmt.Errorf("--image applies to --runtime docker only")
		}
		if c.fakeApp != "" {
			return harness.Local(harness.WithFakeApp(c.fakeApp)), nil
		}
		if os.Getenv("SESSIONLAB_FAKEAPP") != "" {
			return harness.Local(), nil // the fakeapp binary it names
		}
		// The fake app is this binary's own subcommand: nothing to build, no go tool needed.
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the sessionlab binary to run the fake app from: %w (pass --fakeapp)", err)
		}
		return harness.Local(harness.WithFakeApp(exe, fakeAppCommand)), nil
	case "docker":
		var opts []docker.Option
		for _, f := range c.images {
			part, image, _ := strings.Cut(f, "=")
			opts = append(opts, docker.WithImage(part, image))
		}
		if c.verbose {
			tclog.SetDefault(stdlog.New(os.Stderr, "", 0))
		}
		rt, err := docker.New(opts...)
		if err != nil {
			return nil, fmt.Errorf("--image %w", err)
		}
		return rt, nil
	}
	return nil, fmt.Errorf("--runtime %q is not known (allowed: local, docker)", c.runtime)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sessionlab",
		Short:         "Measure what a load balancer does to logged-in users of a stateful app",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newCompareCmd(), newReportCmd(), newCleanupCmd(), newTemplateCmd(), newK8sCmd(), newJourneyCmd(), newFakeAppCmd(), newDoctorCmd(), newInstallCmd(), newVersionCmd())
	return root
}

func newRunCmd() *cobra.Command {
	var c common
	var out output
	var eventsPath, shard string
	cmd := &cobra.Command{
		Use:   "run [flags] FILE.yaml",
		Short: "Run one scenario and print its report; exit 1 when an expectation is not met",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			restore, err := c.begin(cmd, &out)
			defer restore()
			if err != nil {
				return err
			}
			sets := c.sets
			if c.target != "" {
				sets = append(slices.Clone(sets), "target.url="+c.target)
			}
			s, err := scenario.Load(args[0], sets...)
			if err != nil {
				return err
			}
			if c.target = s.Target.URL; c.target != "" && (cmd.Flags().Changed("runtime") || cmd.Flags().Changed("image") || cmd.Flags().Changed("fakeapp")) {
				return fmt.Errorf("target %s is a live deployment and nothing is started: --runtime, --image and --fakeapp do not apply", c.target)
			}
			if err := harness.Check(s); err != nil {
				return err
			}
			defer setGC(s.Clients.Concurrency)()
			opts, err := c.options(out.quiet)
			if err != nil {
				return err
			}
			if shard != "" {
				i, n, err := parseShard(shard)
				if err == nil {
					err = harness.Check(s, harness.WithShard(i, n))
				}
				if err != nil {
					return fmt.Errorf("--shard: %w", err)
				}
				opts = append(opts, harness.WithShard(i, n))
			}
			if eventsPath != "" { // created once the input is known good: bad input leaves no file behind
				f, err := os.Create(eventsPath)
				if err != nil {
					return fmt.Errorf("--events: %w", err)
				}
				defer f.Close()
				opts = append(opts, harness.WithEvents(f))
			}
			rep, err := harness.Run(cmd.Context(), s, opts...)

			c.finish()
			if err != nil && (rep == nil || !rep.Interrupted) {
				return err
			}
			// An interrupted run's report is written even when something else failed too: it is what ran.
			if werr := out.write(cmd.OutOrStdout(), cmd.ErrOrStderr(), []*reports.Report{rep}, false); werr != nil || err != nil {
				return errors.Join(err, werr)
			}
			if shard != "" {
				return nil // a shard's figures are not the run's: report --merge checks the expectations
			}
			return unmet(rep)
		},
	}
	c.register(cmd)
	out.register(cmd)
	cmd.Flags().StringVar(&shard, "shard", "", "run only the i-th (from 0) of N disjoint shares of the users, i/N (e.g. a Kubernetes Indexed Job's pod); `report --merge` joins the shards' logs")
	cmd.Flags().StringVar(&c.target, "target", "", "drive this live URL (http(s)://host[:port]) instead of starting a topology: the scenario's users and journeys, no faults (the scenario's target.url)")
	cmd.Flags().StringVar(&eventsPath, "events", "", "write the event log (a header record, then one JSON line per request) to this file; `sessionlab report` renders it again")
	return cmd
}

func newCompareCmd() *cobra.Command {
	var c common
	var out output
	var strategies, balancers, eventsDir string
	cmd := &cobra.Command{
		Use:   "compare --strategies A,B,... [--balancers nginx,haproxy,caddy,traefik] [flags] FILE.yaml",
		Short: "Run one scenario under several strategies (and balancers) and print them side by side",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			restore, err := c.begin(cmd, &out)
			defer restore()
			if err != nil {
				return err
			}
			kinds, err := balancerList(args[0], balancers, c.sets)
			if err != nil {
				return err
			}
			// Compile every variant before starting anything, so a bad name or file starts nothing. A pair the
			// balancer cannot run is a row that says so, not an error.
			type variant struct {
				scenario *scenario.Scenario
				skipped  *reports.Report
			}
			var variants []variant
			for _, kind := range kinds {
				for _, strategy := range splitList(strategies) {
					if err := balancer.Supports(kind, strategy); err != nil && slices.Contains(balancer.Strategies, strategy) {
						variants = append(variants, variant{skipped: reports.Skipped(kind, strategy, err.Error())})
						continue
					}
					s, err := scenario.Load(args[0], append(slices.Clone(c.sets), "balancer.kind="+kind, "balancer.strategy="+strategy)...)
					if err != nil {
						return err
					}
					if err := harness.Check(s); err != nil {
						return err
					}
					variants = append(variants, variant{scenario: s})
				}
			}
			if eventsDir != "" {
				if err := os.MkdirAll(eventsDir, 0o755); err != nil {
					return fmt.Errorf("--events: %w", err)
				}
			}
			opts, err := c.options(out.quiet)
			if err != nil {
				return err
			}
			var reps []*reports.Report
			for _, v := range variants {
				if v.skipped != nil {
					reps = append(reps, v.skipped)
					continue
				}
				rep, err := runVariant(cmd.Context(), v.scenario, eventsDir, opts)
				c.finish()
				if err != nil && cmd.Context().Err() != nil && len(reps) > 0 {
					break // interrupted before this variant's users started: the variants that ran are reported
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", v.scenario.Balancer.Kind, v.scenario.Balancer.Strategy, err)
				}
				reps = append(reps, rep)
				if cmd.Context().Err() != nil {
					break // interrupted: no further variant starts
				}
			}
			if err := out.write(cmd.OutOrStdout(), cmd.ErrOrStderr(), reps, true); err != nil {
				return err
			}
			return unmet(reps...)
		},
	}
	c.register(cmd)
	out.register(cmd)
	cmd.Flags().StringVar(&strategies, "strategies", "round-robin,ip-hash", "comma-separated strategies (allowed: "+strings.Join(balancer.Strategies, ", ")+")")
	cmd.Flags().StringVar(&balancers, "balancers", "", "comma-separated balancer kinds (allowed: "+strings.Join(balancer.Kinds, ", ")+"; default: the scenario's balancer.kind)")
	cmd.Flags().StringVar(&eventsDir, "events", "", "write each variant's event log to this directory, as KIND-STRATEGY.jsonl; `sessionlab report` renders them again")
	return cmd
}

// runVariant runs one variant of a comparison, with its event log in dir when dir is set.
func runVariant(ctx context.Context, s *scenario.Scenario, dir string, opts []harness.Option) (*reports.Report, error) {
	if dir == "" {
		return harness.Run(ctx, s, opts...)
	}
	b := s.Balancer
	f, err := os.Create(filepath.Join(dir, b.Kind+"-"+b.Strategy+".jsonl"))
	if err != nil {
		return nil, fmt.Errorf("--events: %w", err)
	}
	rep, err := harness.Run(ctx, s, append(slices.Clone(opts), harness.WithEvents(f))...)
	return rep, errors.Join(err, f.Close())
}

func newReportCmd() *cobra.Command {
	var out output
	var merge bool
	cmd := &cobra.Command{
		Use:   "report [--format F,...] [--out DIR] EVENTS.jsonl [MORE.jsonl...]",
		Short: "Render saved event logs again, without running anything: one log is a run, several a comparison",
		Long: "Render saved event logs (written by run --events or compare --events) in any format. The log's first " +
			"record carries the scenario, topology and expectations, so no scenario file is needed. With several logs " +
			"the output is a comparison, in the order given. Exit 1 when an expectation is not met, 3 when a run was " +
			"invalid (the harness's own parts ran out), 130 or 143 when one was interrupted.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := out.list(); err != nil {
				return err
			}
			var reps []*reports.Report
			if merge {
				rep, err := mergeLogs(args)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
			} else {
				for _, path := range args {
					rep, err := readLog(path)
					if err != nil {
						return err
					}
					reps = append(reps, rep)
				}
			}
			if err := out.write(cmd.OutOrStdout(), cmd.ErrOrStderr(), reps, len(reps) > 1); err != nil {
				return err
			}
			return unmet(reps...)
		},
	}
	out.register(cmd)
	cmd.Flags().BoolVar(&merge, "merge", false, "the logs are the shards of one run (run --shard i/N): render the one report they make together")
	return cmd
}

// mergeLogs merges the shard logs at paths into one report.
func mergeLogs(paths []string) (*reports.Report, error) {
	logs := make([]reports.Log, len(paths))
	for i, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		logs[i] = reports.Log{Name: path, R: f}
	}
	return reports.MergeLogs(logs...)
}

func readLog(path string) (*reports.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := reports.ReadLog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// balancerList is the --balancers list, or the scenario's own kind.
func balancerList(path, flag string, sets []string) ([]string, error) {
	if flag != "" {
		kinds := splitList(flag)
		for _, k := range kinds {
			if !slices.Contains(balancer.Kinds, k) {
				return nil, fmt.Errorf("--balancers: %q is not a balancer (allowed: %s)", k, strings.Join(balancer.Kinds, ", "))
			}
		}
		return kinds, nil
	}
	s, err := scenario.Load(path, sets...)
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

// unmet is the error a command returns for its reports: an interruption (exit 130 or 143) when one of them was
// interrupted, whose expectations are not judged; then an invalid run (exit 3: the harness's own parts ran out, so
// its expectations say nothing); else the count of expectations not met (exit 1), if any.
func unmet(reps ...*reports.Report) error {
	for _, r := range reps {
		if r.Interrupted {
			msg := fmt.Sprintf("%s %s %s was interrupted", r.Scenario, r.Balancer.Kind, r.Balancer.Strategy)
			if r.InterruptedBy != "" {
				msg += " by " + r.InterruptedBy
			}
			if d := r.Totals.UsersDone; d != nil {
				msg += fmt.Sprintf(" after %d of %d users", *d, r.Totals.Users)
			}
			return interruptedError{cause: r.InterruptedBy, msg: msg + ": its expectations are not judged"}
		}
	}
	for _, r := range reps {
		if r.Invalid != "" {
			return invalidError{why: fmt.Sprintf("%s %s: %s", r.Balancer.Kind, r.Balancer.Strategy, r.Invalid)}
		}
	}
	n := 0
	for _, r := range reps {
		for _, e := range r.Expectations {
			if !e.OK {
				n++
			}
		}
	}
	if n > 0 {
		return unmetError{n: n}
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
			dirs, procs, err := harness.Sweep()
			fmt.Fprintf(out, "local: removed %d working directories, stopped %d processes\n", dirs, procs)
			if derr := docker.Available(cmd.Context()); derr != nil {
				fmt.Fprintf(out, "docker: skipped (%v)\n", derr)
				return err
			}
			containers, networks, derr := docker.Sweep(cmd.Context(), all)
			fmt.Fprintf(out, "docker: removed %d containers, %d networks\n", containers, networks)
			return errors.Join(err, derr)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "docker: remove every sessionlab container and network, also those of runs still going")
	return cmd
}

func newTemplateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "template KIND",
		Short: "Print the built-in config template of a balancer (" + strings.Join(balancer.Kinds, ", ") + "), to start your own balancer.config from",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := balancer.Template(args[0])
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(text)
			return err
		},
	}
}

func newK8sCmd() *cobra.Command {
	var sets, images []string
	var o k8s.Options
	cmd := &cobra.Command{
		Use:   "k8s [--shards N] [--ingress ingress-nginx|traefik|gateway-api] [flags] FILE.yaml",
		Short: "Write the Kubernetes manifests that run the scenario on a cluster: the app, its Ingress or Gateway, Redis, and an Indexed Job of N shards",
		Long: "Write to stdout the manifests that run the scenario on a cluster: the replicas (a Deployment of app.image, or " +
			"of the fakeapp image), a Service, what routes to it with the strategy (--ingress ingress-nginx: an Ingress with " +
			"its annotations, the default; traefik: an Ingress of class traefik and the Service annotations Traefik reads; " +
			"gateway-api: a Gateway and an HTTPRoute, cookie-insert as its experimental sessionPersistence; or a Service " +
			"with ClientIP affinity), Redis when sessions: redis, the scenario as a ConfigMap, and an Indexed Job whose pods " +
			"run `sessionlab run --target … --shard i/N`. Each pod's log is its shard's event log; `sessionlab report " +
			"--merge` joins them (docs/targets.md, \"Kubernetes\"). A strategy the ingress cannot express is refused by name.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := scenario.Load(args[0], sets...)
			if err != nil {
				return err
			}
			if o.Scenario, err = os.ReadFile(args[0]); err != nil {
				return err
			}
			for _, im := range images {
				part, image, ok := strings.Cut(im, "=")
				dst := map[string]*string{"fakeapp": &o.AppImage, "redis": &o.RedisImage, "sessionlab": &o.RunnerImage}[part]
				if !ok || image == "" || dst == nil {
					return fmt.Errorf("--image %s: want PART=IMAGE with PART one of fakeapp, redis, sessionlab", im)
				}
				*dst = image
			}
			o.Sets = sets
			text, err := k8s.Manifests(s, o)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(text)
			return err
		},
	}
	cmd.Flags().IntVar(&o.Shards, "shards", 1, "pods of the Job, each running one shard of the users")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a scenario key, KEY=VALUE (repeatable); the Job's pods get them too")
	cmd.Flags().StringArrayVar(&images, "image", nil, "the image for a part, PART=IMAGE (parts: fakeapp, redis, sessionlab)")
	cmd.Flags().StringVar(&o.Ingress, "ingress", "ingress-nginx", "what routes the users to the app: ingress-nginx, traefik (an Ingress of class traefik, the strategy in the Service's annotations) or gateway-api (a Gateway and an HTTPRoute)")
	cmd.Flags().StringVar(&o.IngressClass, "ingress-class", "", "the Ingress's ingressClassName (default nginx, or traefik with --ingress traefik)")
	cmd.Flags().StringVar(&o.GatewayClass, "gateway-class", "", "the Gateway's gatewayClassName with --ingress gateway-api: your cluster's GatewayClass (default REPLACE-ME, a placeholder to set)")
	cmd.Flags().StringVar(&o.IngressURL, "ingress-url", "", "where the Job's pods reach the ingress controller (default: ingress-nginx's Service in the ingress-nginx namespace; with --ingress traefik, k3s's traefik Service in kube-system; with gateway-api, http://NAME-gateway, a placeholder for the Service your implementation provisions)")
	cmd.Flags().StringVar(&o.Identity, "identity", "", "how users' addresses reach the ingress: x-forwarded-for (the controller's use-forwarded-headers), proxy-protocol, none; default the scenario's clients.identity when it is x-forwarded-for or none, else x-forwarded-for (bind is refused: a pod cannot connect from the users' addresses)")
	return cmd
}

// parseShard reads "i/N" (--shard): the i-th, from 0, of N shards.
func parseShard(s string) (index, count int, err error) {
	i, n, ok := strings.Cut(s, "/")
	index, errI := strconv.Atoi(strings.TrimSpace(i))
	count, errN := strconv.Atoi(strings.TrimSpace(n))
	if !ok || errI != nil || errN != nil {
		return 0, 0, fmt.Errorf("shard %q is not i/N, such as 0/4 (the first of four)", s)
	}
	return index, count, nil
}
