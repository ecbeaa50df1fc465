package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
	"github.com/spf13/cobra"
)

// output is where and how a command writes its reports: --format, --out, --quiet.
type output struct {
	formats string
	outDir  string
	quiet   bool
}

func (o *output) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.formats, "format", "text", "report format, or several comma-separated with --out (allowed: "+strings.Join(render.Formats, ", ")+")")
	cmd.Flags().StringVar(&o.outDir, "out", "", "write every --format to this directory ("+fileNames()+"); the text report still goes to stdout unless --quiet")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress line, and with --out nothing on stdout")
}

func fileNames() string {
	names := make([]string, len(render.Formats))
	for i, f := range render.Formats {
		names[i] = render.FileName(f)
	}
	return strings.Join(names, ", ")
}

// list checks the flags before anything runs and returns the formats in the order given, without repeats.
func (o *output) list() ([]string, error) {
	var list []string
	for _, f := range splitList(o.formats) {
		if !slices.Contains(render.Formats, f) {
			return nil, fmt.Errorf("--format %q is not known (allowed: %s)", f, strings.Join(render.Formats, ", "))
		}
		if !slices.Contains(list, f) {
			list = append(list, f)
		}
	}
	switch {
	case len(list) == 0:
		return nil, fmt.Errorf("--format is empty (allowed: %s)", strings.Join(render.Formats, ", "))
	case len(list) > 1 && o.outDir == "":
		return nil, fmt.Errorf("--format %s: several formats need --out DIR to write them to", o.formats)
	}
	return list, nil
}

// write renders the reports in every format: to stdout for one format without --out, else one file per format in
// --out, with the text report on stdout unless --quiet. One report is a run; several are a comparison.
func (o *output) write(stdout, stderr io.Writer, reps []*reports.Report, compare bool) error {
	formats, err := o.list()
	if err != nil {
		return err
	}
	writeAs := func(w io.Writer, format string) error {
		if compare {
			return render.Compare(w, format, reps)
		}
		return render.Report(w, format, reps[0])
	}
	if o.outDir == "" {
		return writeAs(stdout, formats[0])
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for _, f := range formats {
		var buf bytes.Buffer
		if err := writeAs(&buf, f); err != nil {
			return fmt.Errorf("render %s: %w", f, err)
		}
		path := filepath.Join(o.outDir, render.FileName(f))
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if !o.quiet {
			fmt.Fprintln(stderr, "wrote", path)
		}
	}
	if o.quiet {
		return nil
	}
	return writeAs(stdout, "text")
}
