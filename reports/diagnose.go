package reports

// Finding is one sentence of a run's diagnosis: what its figures show, why, and which fixes fit.
type Finding struct {
	Rule  string   `json:"rule"`  // the rule that fired, e.g. "local-sessions-no-affinity"
	Text  string   `json:"text"`  // what the figures show and why, in a sentence or two
	Fixes []string `json:"fixes"` // the fixes that fit, as design.md's table of real reports names them
}

// Diagnose derives a short diagnosis from the report's figures and topology alone.
func Diagnose(r *Report) []Finding {
	return []Finding{}
}
