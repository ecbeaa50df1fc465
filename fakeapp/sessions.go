package fakeapp

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/sessionlab/sessionlab/fakeapp/internal/seal"
)

// cookieState is what a replica makes of a request's session cookie.
type cookieState int

const (
	cookieNone    cookieState = iota // no cookie of this replica's name
	cookieBad                        // a cookie it cannot open: another replica's secret, or tampered with
	cookieUnknown                    // it opens, but its session is gone: another replica's memory, expired, a store that restarted
	cookieOK
)

// current is the session a request arrived with.
type current struct {
	state   cookieState
	ticket  string // server-side sessions: the id in a cookie this replica opened
	session session
}

// keeper is how sessions travel between the browser and the replica: a sealed ticket pointing into a store, or
// the whole session sealed in the cookie.
type keeper interface {
	read(ctx context.Context, r *http.Request) (current, error)
	// write keeps s and sets the cookie. A cookie whose session this replica found keeps its ticket (OAuth2-Proxy
	// reuses a valid ticket); any other gets a new one, which is how records pile up when replicas disagree on the
	// secret.
	write(ctx context.Context, w http.ResponseWriter, cur current, s session) error
	drop(ctx context.Context, w http.ResponseWriter, cur current) error
}

// cookieTemplate is the session cookie's attributes; Value and MaxAge are filled per answer.
func cookieTemplate(name string) http.Cookie {
	return http.Cookie{Name: name, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

func setCookie(w http.ResponseWriter, name, value string, until time.Time) {
	c := cookieTemplate(name)
	c.Value = value
	c.MaxAge = max(int(time.Until(until)/time.Second), 1)
	http.SetCookie(w, &c)
}

// clearCookie tells the browser to forget the cookie, as Wakapi does with a cookie it cannot decode.
func clearCookie(w http.ResponseWriter, name string) {
	c := cookieTemplate(name)
	c.MaxAge = -1
	http.SetCookie(w, &c)
}

// deadline is when s ends: its lifetime, or sooner when it has sat idle.
func deadline(s session, idle time.Duration, now time.Time) time.Time {
	if idle > 0 && now.Add(idle).Before(s.Expires) {
		return now.Add(idle)
	}
	return s.Expires
}

// serverKeeper keeps sessions in a Store; the cookie carries only the ticket, sealed.
type serverKeeper struct {
	store  Store
	seal   *seal.Sealer
	cookie string
	idle   time.Duration
}

const purposeTicket = "ticket"

func (k *serverKeeper) read(ctx context.Context, r *http.Request) (current, error) {
	c, err := r.Cookie(k.cookie)
	if err != nil || c.Value == "" {
		return current{state: cookieNone}, nil
	}
	id, err := k.seal.Open(purposeTicket, c.Value)
	if err != nil {
		return current{state: cookieBad}, nil
	}
	cur := current{state: cookieUnknown, ticket: string(id)}
	raw, ok, err := k.store.Load(ctx, cur.ticket)
	if err != nil || !ok {
		return cur, err
	}
	s, err := decodeSession(raw)
	if err != nil || !time.Now().Before(s.Expires) {
		return cur, nil
	}
	cur.state, cur.session = cookieOK, s
	return cur, nil
}

func (k *serverKeeper) write(ctx context.Context, w http.ResponseWriter, cur current, s session) error {
	// Only a ticket whose session this replica found is reused: an id it cannot find (another replica's memory,
	// an expired record) gets a new one, as express-session and OAuth2-Proxy both generate a fresh ticket then.
	id := cur.ticket
	if cur.state != cookieOK {
		id = newID()
	}
	now := time.Now()
	until := deadline(s, k.idle, now)
	if err := k.store.Save(ctx, id, encodeSession(s), until.Sub(now)); err != nil {
		return err
	}
	setCookie(w, k.cookie, k.seal.Seal(purposeTicket, []byte(id)), s.Expires)
	return nil
}

func (k *serverKeeper) drop(ctx context.Context, w http.ResponseWriter, cur current) error {
	clearCookie(w, k.cookie)
	if cur.ticket == "" {
		return nil
	}
	return k.store.Delete(ctx, cur.ticket)
}

// cookieKeeper keeps nothing: the whole session is sealed in the cookie (Wakapi, caddy-security's tokens), so any
// replica with the same secret accepts it and no other does.
type cookieKeeper struct {
	seal   *seal.Sealer
	cookie string
	idle   time.Duration
}

const purposeSession = "session"

// sealedSession is the cookie's payload: the session and, with an idle timeout, when it ends unless used.
type sealedSession struct {
	session
	Until time.Time `json:"i"`
}

func (k *cookieKeeper) read(_ context.Context, r *http.Request) (current, error) {
	c, err := r.Cookie(k.cookie)
	if err != nil || c.Value == "" {
		return current{state: cookieNone}, nil
	}
	raw, err := k.seal.Open(purposeSession, c.Value)
	if err != nil {
		return current{state: cookieBad}, nil
	}
	var p sealedSession
	if err := json.Unmarshal(raw, &p); err != nil {
		return current{state: cookieBad}, nil
	}
	if !time.Now().Before(p.Until) {
		return current{state: cookieUnknown}, nil
	}
	return current{state: cookieOK, session: p.session}, nil
}

func (k *cookieKeeper) write(_ context.Context, w http.ResponseWriter, _ current, s session) error {
	p := sealedSession{session: s, Until: deadline(s, k.idle, time.Now())}
	raw, _ := json.Marshal(p) // strings and times always marshal
	setCookie(w, k.cookie, k.seal.Seal(purposeSession, raw), s.Expires)
	return nil
}

func (k *cookieKeeper) drop(_ context.Context, w http.ResponseWriter, _ current) error {
	clearCookie(w, k.cookie)
	return nil
}
