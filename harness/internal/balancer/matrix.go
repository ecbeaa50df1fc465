package balancer

import (
	"fmt"
	"slices"
	"strings"
)

// Matrix is the table of what each kind supports as Markdown: a row per strategy (in Strategies order), a column
// per kind (in Kinds order), each cell how the kind runs the strategy or "refused: " and why. docs/strategies.md
// holds it between <!-- strategy-matrix:begin --> and <!-- strategy-matrix:end --> (a test keeps them equal;
// `go test ./harness/balancer -update-docs` rewrites it there).
func Matrix() string {
	var b strings.Builder
	b.WriteString("| strategy |")
	for _, kind := range Kinds {
		b.WriteString(" " + kind + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(Kinds)) + "\n")
	for _, strategy := range Strategies {
		b.WriteString("| `" + strategy + "` |")
		for _, kind := range Kinds {
			b.WriteString(" " + markdownCell(tbl.kinds[kind].cells[strategy].text()) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// text is the cell as the matrix shows it.
func (c cell) text() string {
	if c.Refused != "" {
		return "refused: " + c.Refused
	}
	return c.Runs
}

func markdownCell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// Misfits says why the scenario's setting balancer.<key> does not fit kind running strategy, each reason worded
// to follow the key ("applies to kind haproxy only (this scenario's balancer.kind is nginx)"), or nothing when it
// fits: the key is one every kind and strategy reads, or the table lets this pair read it. A kind that refuses the
// key outright says only that. Unknown kinds and strategies fit everything: Supports names them.
func Misfits(kind, strategy, key string) []error {
	k, ok := tbl.kinds[kind]
	if !ok || !slices.Contains(Strategies, strategy) {
		return nil
	}
	if why, refused := k.refusedSettings[key]; refused {
		return []error{fmt.Errorf("does not apply to kind %s: %s", kind, why)}
	}
	var errs []error
	if readers := tbl.kindsReading(key); len(readers) > 0 && !slices.Contains(k.Keys, key) {
		errs = append(errs, fmt.Errorf("applies to kind %s only (this scenario's balancer.kind is %s)", andList(readers), kind))
	}
	if readers := tbl.strategySettings[key]; len(readers) > 0 && !slices.Contains(readers, strategy) {
		noun := "strategy"
		if len(readers) > 1 {
			noun = "strategies"
		}
		errs = append(errs, fmt.Errorf("applies to %s %s only (this scenario's is %s)", noun, andList(readers), strategy))
	}
	if why, refused := k.cells[strategy].RefusedSettings[key]; refused {
		errs = append(errs, fmt.Errorf("does not apply to strategy %s: %s", strategy, why))
	}
	return errs
}

// andList writes names as "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// kindsReading lists the kinds whose row reads key, in Kinds order; none when key is no kind's own.
func (t *table) kindsReading(key string) []string {
	var readers []string
	for _, name := range t.kindNames {
		if slices.Contains(t.kinds[name].Keys, key) {
			readers = append(readers, name)
		}
	}
	return readers
}
