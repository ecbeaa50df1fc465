package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// Swept is what a docker sweep removed.
type Swept struct {
	Containers []string
	Networks   []string
}

// Sweep removes the containers and networks of docker runs whose owner process on this host is gone — or,
// with all, of every sessionlab run, live or not.
func Sweep(ctx context.Context, all bool) (Swept, error) {
	var s Swept
	cli, done, err := dockerClient(ctx)
	defer done()
	if err != nil {
		return s, err
	}
	filter := make(client.Filters).Add("label", labelRun)
	containers, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return s, fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, c := range containers.Items {
		if !all && !ownerGone(c.Labels[labelOwner]) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		s.Containers = append(s.Containers, c.ID[:12])
	}
	networks, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return s, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range networks.Items {
		if !all && !ownerGone(n.Labels[labelOwner]) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		s.Networks = append(s.Networks, n.Name)
	}
	return s, errors.Join(errs...)
}

// ownerGone reports whether the run that labelled a resource has ended: it ran on this host and its process is no
// longer alive. A resource of another host's run is never judged gone.
func ownerGone(owner string) bool {
	host, identity, ok := strings.Cut(owner, " ")
	if me, _ := os.Hostname(); !ok || host != me {
		return false
	}
	pidText, _, _ := strings.Cut(identity, " ")
	pid, err := strconv.Atoi(pidText)
	return err != nil || runtime.ProcessIdentity(pid) != identity
}
