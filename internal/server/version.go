package server

import (
	"runtime"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// kubernetesAPIModule is the module whose release kjet's API follows: k8s.io/api
// v0.X.Y is Kubernetes v1.X.Y.
const kubernetesAPIModule = "k8s.io/api"

// fallbackAPIVersion is used when the binary carries no build information (it matches
// the k8s.io/api pin in go.mod).
const fallbackAPIVersion = "v0.37.2"

// BuildVersion is kjet's version from the binary's build information: the main module's
// version when it has one, else "dev-<commit>" (with "-dirty" for uncommitted changes)
// from the VCS stamp of a build in a checkout, else "dev".
func BuildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "dev-" + rev + dirty
}

// KubernetesVersion returns the Kubernetes release whose API kjet implements, e.g.
// "v1.37.2", read from the k8s.io/api module the binary was built with.
func KubernetesVersion() string {
	v := fallbackAPIVersion
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == kubernetesAPIModule {
				if d.Replace != nil {
					d = d.Replace
				}
				v = d.Version
				break
			}
		}
	}
	// v0.X.Y -> v1.X.Y
	rest := strings.TrimPrefix(v, "v0.")
	return "v1." + rest
}

// VersionInfo is what /version reports: the Kubernetes release of kjet's API (kubectl
// dispatchers and clients read major/minor from it), with kjet's own version as build
// metadata in gitVersion, e.g. v1.37.2+kjet.0.1.0.
func VersionInfo(kjetVersion string) version.Info {
	kv := KubernetesVersion()
	core := strings.TrimPrefix(kv, "v")
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	parts := strings.SplitN(core, ".", 3)
	major, minor := "1", ""
	if len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	return version.Info{
		Major:      major,
		Minor:      minor,
		GitVersion: "v" + core + "+kjet." + semverBuildMetadata(kjetVersion),
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// semverBuildMetadata makes s valid as semver build metadata (dot-separated
// [0-9A-Za-z-] identifiers).
func semverBuildMetadata(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimPrefix(s, "v") {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('.')
		}
	}
	out := strings.Trim(b.String(), ".")
	for strings.Contains(out, "..") {
		out = strings.ReplaceAll(out, "..", ".")
	}
	if out == "" {
		return "dev"
	}
	return out
}
