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
	Redis   string
}

// DefaultImages are the images `make images` builds, each overridable by an environment variable.
func DefaultImages() Images {
	return Images{
		FakeApp: envOr("SESSIONLAB_IMAGE_FAKEAPP", "sessionlab/fakeapp:dev"),
		Nginx:   envOr("SESSIONLAB_IMAGE_NGINX", "sessionlab/nginx:bookworm"),
		HAProxy: envOr("SESSIONLAB_IMAGE_HAPROXY", "sessionlab/haproxy:bookworm"),
		Caddy:   envOr("SESSIONLAB_IMAGE_CADDY", "sessionlab/caddy:"+caddyVersion()),
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
	}
	return im.Nginx
}

// caddyVersion tags the Caddy image: the version sessionlab install builds, which make images copies.
func caddyVersion() string {
	t, _ := tools.Lookup("caddy") // a known tool
	return t.Version
}
