package vocab

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/sessionlab/sessionlab/internal/contract"
)

// AppVars are what app.command, app.env, app.dir and app.image may use, e.g. "{{.Port}}".
type AppVars struct {
	Name      string // replica-2
	Index     int    // 2
	Host      string // the address to listen on: 127.0.0.1 (local), 0.0.0.0 (docker)
	Port      int    // the port to listen on
	Addr      string // Host:Port
	DataDir   string // this replica's own directory, empty at the start of a run
	SharedDir string // one directory every replica of the run sees
	Secret    string // the same for every replica, or each replica's own (app.secret)
	Store     string // host:port of the run's Redis (app.sessions: redis), else ""
	Users     int    // how many simulated users there are: user1..userN
	Seed      uint64
	// With app.idp: oidc, the OpenID Connect provider: its issuer URL (as browsers and the app reach it), and the
	// app's client id and secret there.
	IdP             string
	IdPClientID     string
	IdPClientSecret string
}

// appVarNames lists the template values, for messages.
const appVarNames = "{{.Name}} {{.Index}} {{.Host}} {{.Port}} {{.Addr}} {{.DataDir}} {{.SharedDir}} {{.Secret}} {{.Store}} {{.Users}} {{.Seed}} {{.IdP}} {{.IdPClientID}} {{.IdPClientSecret}}"

var sampleVars = AppVars{Name: "replica-1", Index: 1, Host: "127.0.0.1", Port: 8080, Addr: "127.0.0.1:8080", DataDir: "/d", SharedDir: "/s",
	Secret: strings.Repeat("5a", 32), Users: 1, IdP: "http://127.0.0.1:8090/oidc", IdPClientID: contract.OIDCClientID, IdPClientSecret: "s"}

// ParseAppTemplate parses one templated value of the user's app (name is its key) and executes it on sample values,
// so that a misspelt {{.Prot}} is an error now, not when a replica starts.
func ParseAppTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("not a template: %w", err)
	}
	if err := t.Execute(&bytes.Buffer{}, sampleVars); err != nil {
		return nil, fmt.Errorf("%w (allowed: %s)", err, appVarNames)
	}
	return t, nil
}
