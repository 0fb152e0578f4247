package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// gpuIndexes lists the N of each /dev/nvidia<N> device.
func gpuIndexes() []int {
	matches, err := filepath.Glob("/dev/nvidia[0-9]*")
	if err != nil {
		return nil
	}
	var out []int
	for _, m := range matches {
		if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "nvidia")); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// gpuAllocator gives each container that asks for nvidia.com/gpu its own devices.
type gpuAllocator struct {
	mu      sync.Mutex // guards owners
	devices []int
	// owners maps a device index to the container attempt holding it.
	owners map[int]string
}

func newGPUAllocator(devices []int) *gpuAllocator {
	return &gpuAllocator{devices: devices, owners: map[int]string{}}
}

// claim records devices already held by a container found running at start-up.
func (g *gpuAllocator) claim(id string, devices []int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range devices {
		g.owners[d] = id
	}
}

// allocate gives the container want devices, taking back those whose holder no longer
// runs. Too few free devices is a *configError: the container waits and retries.
func (g *gpuAllocator) allocate(ctx context.Context, rt runtime.Runtime, id string, want int) ([]int, error) {
	if want <= 0 {
		return nil, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var free []int
	for _, d := range g.devices {
		owner, held := g.owners[d]
		if held && owner != id {
			st, err := rt.Status(ctx, owner)
			if err == nil && st.State == runtime.StateRunning {
				continue
			}
		}
		free = append(free, d)
	}
	if len(free) < want {
		return nil, &configError{fmt.Sprintf("insufficient nvidia.com/gpu: container wants %d, %d free on this node", want, len(free))}
	}
	for _, d := range free[:want] {
		g.owners[d] = id
	}
	return free[:want], nil
}

// gpuRequest is how many GPUs a container asks for (limit, else request).
func gpuRequest(c *corev1.Container) int {
	if q, ok := c.Resources.Limits[resourceGPU]; ok {
		return int(q.Value())
	}
	if q, ok := c.Resources.Requests[resourceGPU]; ok {
		return int(q.Value())
	}
	return 0
}
