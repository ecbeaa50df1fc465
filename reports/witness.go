package reports

import "github.com/sessionlab/sessionlab/clients/events"

// Witness is one user whose exchanges show a failure cause as it happened: the exchanges, in the user's order and
// as the event log recorded them (docs/event-log.md), from the start of the login attempt the failure came in or
// after, through the failing exchange, to the one after it. A report keeps the users with the lowest ids, at most
// three per cause.
type Witness struct {
	// Cause is the failing exchange's outcome: loop, loss, csrf, rejected, rate_limited or error.
	Cause string `json:"cause"`
	User  int    `json:"user"`
	// Failed is the index in Exchanges of the exchange that went wrong: the user's first with Cause as its outcome.
	Failed int `json:"failed"`
	// Exchanges are at most 8 exchanges from the start of the user's latest login attempt (before any login: from
	// the user's first exchange), the last ones up to the failure (at most 11, it included), and the user's next
	// exchange, when it made one: at most 20.
	Exchanges []events.Event `json:"exchanges"`
	// Omitted counts the user's exchanges left out between Exchanges[OmittedAt-1] and Exchanges[OmittedAt] to keep
	// the witness short; both are 0 when none was.
	Omitted   int `json:"omitted,omitempty"`
	OmittedAt int `json:"omitted_at,omitempty"`
}

// witnesses is Report.Witnesses.
func (a *Accumulator) witnesses() []Witness {
	ws := a.wit.Report()
	out := make([]Witness, len(ws))
	for i, w := range ws {
		out[i] = Witness(w)
	}
	return out
}
