package runtime

import (
	"os"

	"github.com/sessionlab/sessionlab/harness/internal/tools"
)

// Images names the images the docker runtime runs. They are settings: a user with a registry can point them at
// official images (with configs that fit them).
type Images struct {
	FakeApp string
	Nginx   string
	HAProxy string
	Caddy   string
	Traefik string
	Redis   string
}

// DefaultImages are the images `make images` builds, each overridable by an environment variable.
func DefaultImages() Images {
	return Images{
		FakeApp: envOr("SESSIONLAB_IMAGE_FAKEAPP", "sessionlab/fakeapp:dev"),
		Nginx:   envOr("SESSIONLAB_IMAGE_NGINX", "sessionlab/nginx:bookworm"),
		HAProxy: envOr("SESSIONLAB_IMAGE_HAPROXY", "sessionlab/haproxy:bookworm"),
		Caddy:   envOr("SESSIONLAB_IMAGE_CADDY", "sessionlab/caddy:"+toolVersion("caddy")),
		Traefik: envOr("SESSIONLAB_IMAGE_TRAEFIK", "sessionlab/traefik:"+toolVersion("traefik")),
		Redis:   envOr("SESSIONLAB_IMAGE_REDIS", "sessionlab/redis:bookworm"),
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Balancer is the image of a balancer kind.
func (im Images) Balancer(kind string) string {
	switch kind {
	case "haproxy":
		return im.HAProxy
	case "caddy":
		return im.Caddy
	case "traefik":
		return im.Traefik
	}
	return im.Nginx
}

// toolVersion tags the image of a Go program (Caddy, Traefik): the version sessionlab install builds, which make
// images copies.
func toolVersion(name string) string {
	t, _ := tools.Lookup(name) // a known tool
	return t.Version
}
