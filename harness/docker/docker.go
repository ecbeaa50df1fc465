// Package docker is the docker runtime for harness.Run: the same topology as containers on one private Docker
// network, through testcontainers-go with its reaper disabled (a run removes its own containers and networks).
// Nothing is pulled: `make images` builds every image locally; image names are settings. Importing this package is
// what links the container library.
package docker

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/docker"
)

// Option configures the docker runtime.
type Option func(*runtime.Images) error

// WithImage runs image as part (fakeapp, nginx, haproxy, caddy, redis) instead of the one `make images` builds
// ($SESSIONLAB_IMAGE_<PART> names it too).
func WithImage(part, image string) Option {
	return func(im *runtime.Images) error {
		parts := map[string]*string{"fakeapp": &im.FakeApp, "nginx": &im.Nginx, "haproxy": &im.HAProxy, "caddy": &im.Caddy, "traefik": &im.Traefik, "redis": &im.Redis}
		dst := parts[part]
		if dst == nil || image == "" {
			names := make([]string, 0, len(parts))
			for n := range parts {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("%s=%s: want PART=IMAGE with PART one of %s", part, image, strings.Join(names, ", "))
		}
		*dst = image
		return nil
	}
}

// New is the docker runtime.
func New(opts ...Option) (harness.Runtime, error) {
	var im runtime.Images
	for _, o := range opts {
		if err := o(&im); err != nil {
			return nil, err
		}
	}
	return docker.New(docker.WithImages(im)), nil
}

// Available says why the docker runtime cannot run here (no Docker engine answers), or nil.
func Available(ctx context.Context) error { return docker.Available(ctx) }

// Sweep removes the containers and networks of docker runs whose process on this host is gone — or, with all, of
// every sessionlab run, live or not — and says how many of each.
func Sweep(ctx context.Context, all bool) (containers, networks int, err error) {
	s, err := docker.Sweep(ctx, all)
	return len(s.Containers), len(s.Networks), err
}
