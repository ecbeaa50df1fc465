package har

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// placeholder is what journey.users.password says instead of the recorded password.
const placeholder = "SET-ME"

// WriteYAML writes the draft as scenario YAML: an app: section with the session cookie, and the journey: section,
// each key under the comments that say where it came from and what to review (# REVIEW:). source names the
// recording in the head comment.
func (d *Draft) WriteYAML(w io.Writer, source string) error {
	y := &writer{notes: map[string][]Note{}, done: map[string]bool{}}
	for _, n := range d.Notes {
		y.notes[n.Key] = append(y.notes[n.Key], n)
	}
	elsewhere := ""
	if d.Elsewhere > 0 {
		elsewhere = fmt.Sprintf(" (%d of them with other hosts, read for the login only)", d.Elsewhere)
	}
	y.comment(0, fmt.Sprintf("Drafted by `sessionlab journey --from-har %s` from %d recorded exchanges with %s%s.",
		oneLine(source), d.Entries, d.Origin, elsewhere))
	y.comment(0, "Review it before use: the REVIEW comments mark what the recording could not decide. No password from the recording is written here.")
	if d.SessionCookie != "" {
		y.line(0, "app:")
		y.key(1, "app.session_cookie", "session_cookie", scalar(d.SessionCookie))
	} else {
		y.notesOf(0, "app.session_cookie")
	}
	y.line(0, "journey:")
	y.notesOf(1, "")
	y.line(1, "users:")
	if d.UserName != "" {
		y.key(2, "journey.users.name", "name", scalar(d.UserName))
	} else {
		y.notesOf(2, "journey.users.name")
	}
	y.comment(2, "REVIEW: the password typed in the recording is not written out: set journey.users.password to your accounts' password (templated with {{.ID}} and {{.User}}), e.g. --set journey.users.password=…")
	y.line(2, "password: "+scalar(or(d.Password, placeholder)))
	if s := d.Setup; s != nil {
		y.notesOf(1, "journey.setup")
		y.line(1, "setup:")
		y.step(2, "journey.setup", *s)
	}
	y.notesOf(1, "journey.login")
	y.line(1, "login:")
	y.key(2, "journey.login.form_path", "form_path", scalar(d.Login.FormPath))
	y.key(2, "journey.login.method", "method", d.Login.Method)
	if d.Login.Path != "" {
		y.key(2, "journey.login.path", "path", scalar(d.Login.Path))
	} else {
		y.notesOf(2, "journey.login.path")
	}
	y.form(2, "journey.login.form", d.Login.Form)
	y.notesOf(1, "journey.success")
	y.line(1, "success:")
	if d.Success.Path != "" {
		y.key(2, "journey.success.path", "path", scalar(d.Success.Path))
	} else {
		y.notesOf(2, "journey.success.path")
	}
	if d.Success.Status != 0 {
		y.key(2, "journey.success.status", "status", strconv.Itoa(d.Success.Status))
	} else {
		y.notesOf(2, "journey.success.status")
	}
	if d.Success.Path == "" && d.Success.Status == 0 {
		y.line(2, "status: 200")
	}
	y.notesOf(1, "journey.pages")
	y.line(1, "pages:")
	for k, p := range d.Pages {
		y.line(2, fmt.Sprintf("- %s   # page %d: GET %s, %d", scalar(p.Path), k+1, oneLine(p.From), p.Status))
	}
	y.line(1, "logged_out:")
	y.key(2, "journey.logged_out.redirect_to", "redirect_to", list(d.LoggedOut.RedirectTo, scalar))
	y.key(2, "journey.logged_out.status", "status", list(d.LoggedOut.Status, strconv.Itoa))
	if d.LoggedOut.ClearedCookie != "" {
		y.key(2, "journey.logged_out.cleared_cookie", "cleared_cookie", scalar(d.LoggedOut.ClearedCookie))
	}
	if l := d.Logout; l != nil {
		y.notesOf(1, "journey.logout")
		y.line(1, "logout:")
		y.step(2, "journey.logout", *l)
	}
	for _, n := range d.Notes { // a note whose key was not written still says its piece, at the end
		if !y.done[n.Key] {
			y.notesOf(1, n.Key)
		}
	}
	_, err := io.WriteString(w, y.b.String())
	return err
}

// writer builds the YAML text.
type writer struct {
	b     strings.Builder
	notes map[string][]Note
	done  map[string]bool // the keys whose notes are written
}

func (y *writer) line(depth int, text string) {
	y.b.WriteString(strings.Repeat("  ", depth) + text + "\n")
}

func (y *writer) comment(depth int, text string) { y.line(depth, "# "+oneLine(text)) }

// notesOf writes the notes kept for key as comments.
func (y *writer) notesOf(depth int, key string) {
	if y.done[key] {
		return
	}
	y.done[key] = true
	for _, n := range y.notes[key] {
		text := n.Text
		if n.Review {
			text = "REVIEW: " + text
		}
		y.comment(depth, text)
	}
}

// key writes "name: value" under its notes.
func (y *writer) key(depth int, key, name, value string) {
	y.notesOf(depth, key)
	y.line(depth, name+": "+value)
}

func (y *writer) form(depth int, key string, fields []Field) {
	y.notesOf(depth, key)
	if len(fields) == 0 {
		y.line(depth, "form: {}")
		return
	}
	y.line(depth, "form:")
	for _, f := range fields {
		y.line(depth+1, scalar(f.Name)+": "+scalar(f.Value))
	}
}

func (y *writer) step(depth int, key string, r Step) {
	y.key(depth, key+".method", "method", r.Method)
	y.key(depth, key+".path", "path", scalar(r.Path))
	if r.Form != nil {
		y.form(depth, key+".form", r.Form)
	} else {
		y.notesOf(depth, key+".form")
	}
	if r.OKStatus != nil {
		y.key(depth, key+".ok_status", "ok_status", list(r.OKStatus, strconv.Itoa))
	}
}

// plainPath is what can be written unquoted: a path, a name.
var plainPath = regexp.MustCompile(`^[/A-Za-z_][A-Za-z0-9/_.~%+\-]*$`)

// scalar is s as a YAML scalar: plain when it is a simple path or name, else double-quoted (JSON's quoting, which
// YAML reads).
func scalar(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return strconv.Quote(s)
	}
	if plainPath.MatchString(s) {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func list[T any](items []T, format func(T) string) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = format(it)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// oneLine keeps a comment on its line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
