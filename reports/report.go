// Package reports is the checker: it turns a run's event stream into the figures of design.md (login failures and
// their causes, lost sessions, duplicate sessions, per-replica load and skew), checks them against a scenario's
// expectations and renders them as text or JSON. It reads events only; it never starts anything.
package reports

// Schema names the version of the report JSON.
const Schema = "sessionlab.report/v1"

// Report is the v1 report JSON. A figure that cannot be computed (its denominator is zero) is null, never zero.
type Report struct {
	Schema        string         `json:"schema"`
	Scenario      string         `json:"scenario"`
	Seed          uint64         `json:"seed"`
	Runtime       string         `json:"runtime"`
	Balancer      Balancer       `json:"balancer"`
	App           App            `json:"app"`
	Totals        Totals         `json:"totals"`
	FailureCauses map[string]int `json:"failure_causes"`
	Replicas      []Replica      `json:"replicas"`
	Skew          Skew           `json:"skew"`
	Expectations  []Expectation  `json:"expectations"`
}

// Balancer says what sat in front of the replicas.
type Balancer struct {
	Kind     string `json:"kind"`
	Strategy string `json:"strategy"`
}

// App says how the replicas kept their sessions.
type App struct {
	Replicas int    `json:"replicas"`
	Sessions string `json:"sessions"`
}

// Totals are the run's headline figures (design.md, "Figures").
type Totals struct {
	Users         int      `json:"users"`
	Requests      int      `json:"requests"`
	Errors        int      `json:"errors"` // exchanges with outcome "error"
	LoginAttempts int      `json:"login_attempts"`
	LoginFailures int      `json:"login_failures"`
	LoginFailRate *float64 `json:"login_failure_rate"`
	PageRequests  int      `json:"page_requests"` // protected pages requested by authenticated users
	SessionLosses int      `json:"session_losses"`
	SessionLoss   *float64 `json:"session_loss_rate"`
	SilentReauths int      `json:"silent_reauths"`
	// SessionsCreated counts accepted login submissions: each creates one session in the app.
	SessionsCreated int `json:"sessions_created"`
	// UsersLoggedIn counts users with at least one accepted login submission.
	UsersLoggedIn  int      `json:"users_logged_in"`
	DuplicateRatio *float64 `json:"duplicate_session_ratio"`
}

// Replica is one replica's share of the traffic.
type Replica struct {
	Name     string   `json:"name"`
	Requests int      `json:"requests"`
	Share    *float64 `json:"share"`
	Users    int      `json:"users"` // distinct users it served at least once
}

// Skew summarises how unevenly requests spread over the replicas.
type Skew struct {
	MaxOverMean *float64 `json:"max_over_mean"`
	CoV         *float64 `json:"cov"`  // standard deviation / mean
	Jain        *float64 `json:"jain"` // (sum x)^2 / (n * sum x^2); 1 is perfectly even
}

// Meta is what the report needs to know about the run besides its events.
type Meta struct {
	Scenario string
	Seed     uint64
	Runtime  string
	Balancer Balancer
	Sessions string
	Replicas []string // every replica's name, in order, including ones that served nothing
	Users    int
}

// Causes lists every failure cause a login attempt can have; the report always names all of them.
var Causes = []string{"loop", "csrf", "rejected", "error"}

func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}

func ptr(v float64) *float64 { return &v }
