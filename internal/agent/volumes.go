package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// defaultFileMode is the mode of files projected from ConfigMaps, Secrets and the
// downward API when the volume names none (0644, the API default).
const defaultFileMode = 0o644

// prepareVolumes creates every volume of the pod under dir/volumes and returns the host
// path of each by volume name. A missing required source is a *configError.
func prepareVolumes(ctx context.Context, src *sourceReader, pod *corev1.Pod, dir string) (map[string]string, error) {
	paths := make(map[string]string, len(pod.Spec.Volumes))
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			paths[v.Name] = v.HostPath.Path
			continue
		}
		vdir := filepath.Join(dir, "volumes", v.Name)
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, fmt.Errorf("creating volume %q: %w", v.Name, err)
		}
		paths[v.Name] = vdir
		var err error
		switch {
		case v.ConfigMap != nil:
			err = writeConfigMapFiles(ctx, src, vdir, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional)
		case v.Secret != nil:
			err = writeSecretFiles(ctx, src, vdir, v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional)
		case v.DownwardAPI != nil:
			err = writeDownwardAPIFiles(pod, vdir, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				switch {
				case s.ConfigMap != nil:
					err = writeConfigMapFiles(ctx, src, vdir, s.ConfigMap.Name, s.ConfigMap.Items, v.Projected.DefaultMode, s.ConfigMap.Optional)
				case s.Secret != nil:
					err = writeSecretFiles(ctx, src, vdir, s.Secret.Name, s.Secret.Items, v.Projected.DefaultMode, s.Secret.Optional)
				case s.DownwardAPI != nil:
					err = writeDownwardAPIFiles(pod, vdir, s.DownwardAPI.Items, v.Projected.DefaultMode)
				}
				if err != nil {
					break
				}
			}
		}
		// emptyDir and anything else kjet cannot provide is a plain directory.
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
		}
	}
	return paths, nil
}

func writeConfigMapFiles(ctx context.Context, src *sourceReader, dir, name string, items []corev1.KeyToPath, mode *int32, optional *bool) error {
	cm, err := src.configMap(ctx, name)
	if err != nil {
		return err
	}
	if cm == nil {
		if optional != nil && *optional {
			return nil
		}
		return &configError{fmt.Sprintf("configmap %q not found", name)}
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return writeKeyFiles(dir, data, items, mode, optional)
}

func writeSecretFiles(ctx context.Context, src *sourceReader, dir, name string, items []corev1.KeyToPath, mode *int32, optional *bool) error {
	s, err := src.secret(ctx, name)
	if err != nil {
		return err
	}
	if s == nil {
		if optional != nil && *optional {
			return nil
		}
		return &configError{fmt.Sprintf("secret %q not found", name)}
	}
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return writeKeyFiles(dir, data, items, mode, optional)
}

// writeKeyFiles writes each key (or each listed item) as a file.
func writeKeyFiles(dir string, data map[string][]byte, items []corev1.KeyToPath, mode *int32, optional *bool) error {
	fileMode := os.FileMode(defaultFileMode)
	if mode != nil {
		fileMode = os.FileMode(*mode)
	}
	if len(items) == 0 {
		for k, v := range data {
			if err := writeFile(dir, k, v, fileMode); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return &configError{fmt.Sprintf("configmap references non-existent config key: %s", it.Key)}
		}
		m := fileMode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		if err := writeFile(dir, it.Path, v, m); err != nil {
			return err
		}
	}
	return nil
}

func writeDownwardAPIFiles(pod *corev1.Pod, dir string, items []corev1.DownwardAPIVolumeFile, mode *int32) error {
	fileMode := os.FileMode(defaultFileMode)
	if mode != nil {
		fileMode = os.FileMode(*mode)
	}
	for _, it := range items {
		var value string
		var err error
		switch {
		case it.FieldRef != nil:
			value, err = podFieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				err = fmt.Errorf("container %q not found for resourceFieldRef", it.ResourceFieldRef.ContainerName)
			} else {
				value, err = resourceFieldValue(pod, c, it.ResourceFieldRef, nil)
			}
		}
		if err != nil {
			return &configError{err.Error()}
		}
		m := fileMode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		if err := writeFile(dir, it.Path, []byte(value), m); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes one projected file, refusing paths that leave the volume.
func writeFile(dir, rel string, data []byte, mode os.FileMode) error {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return &configError{fmt.Sprintf("invalid path %q", rel)}
	}
	p := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	tmp := p + ".kjet-tmp"
	if err := os.WriteFile(tmp, data, mode.Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Chmod(tmp, mode.Perm()); err != nil {
		return fmt.Errorf("setting mode of %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// containerMounts maps the container's volumeMounts onto the prepared host paths.
func containerMounts(c *corev1.Container, volumes map[string]string) ([]runtime.Mount, error) {
	mounts := make([]runtime.Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		host, ok := volumes[vm.Name]
		if !ok {
			return nil, &configError{fmt.Sprintf("volume %q not found for volumeMount %q", vm.Name, vm.MountPath)}
		}
		if vm.SubPath != "" {
			host = filepath.Join(host, vm.SubPath)
		}
		mounts = append(mounts, runtime.Mount{HostPath: host, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	return mounts, nil
}
