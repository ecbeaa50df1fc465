package fakeapp_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/fakeapp"
	"github.com/stretchr/testify/assert"
)

// Wakapi's login limit, per client address: behind a balancer that is not trusted every user is the balancer.
func TestLoginRateLimitPerClientAddress(t *testing.T) {
	balancer := netip.MustParsePrefix("10.0.0.0/8")
	tests := []struct {
		name       string
		trust      []netip.Prefix
		limitedOf5 int
	}{
		{"balancer not trusted: five users are one address", nil, 3},
		{"balancer trusted: five users are five addresses", []netip.Prefix{balancer}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fakeapp.New(fakeapp.Config{LoginRate: fakeapp.RateLimit{Count: 2, Window: time.Minute, TrustProxies: tt.trust}})
			limited := 0
			for i := 1; i <= 5; i++ {
				form := url.Values{"username": {"user1"}, "password": {"secret"}}
				req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = "10.0.0.1:40000"
				req.Header.Set("X-Forwarded-For", "198.18.0."+strconv.Itoa(i))
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, req)
				if rec.Code == http.StatusTooManyRequests {
					limited++
					assert.NotEmpty(t, rec.Header().Get("Retry-After"))
				} else {
					assert.Equal(t, http.StatusFound, rec.Code, "an accepted login redirects")
				}
			}
			assert.Equal(t, tt.limitedOf5, limited)
		})
	}
}
