// Package kubectli18n makes kubectl's message translations load only when they can
// matter. The embedded kubectl translates its help texts through k8s.io/kubectl's i18n
// package, whose first use (in package-level variables of kubectl's commands, so at
// process start, for every kjet subcommand including `kjet server`) unpacks and parses
// the translation catalogue: tens of milliseconds of start-up. For an English (or
// unset) locale the translations are the default texts, so this package installs a
// loader that skips that work and loads them as before for any other language.
//
// i18n requires the loader to be installed before the first translation, i.e. during
// package initialisation: that is why this package does its one thing in a
// package-level variable. It must be initialised before k8s.io/kubectl's command
// packages, which Go's initialisation order guarantees (it depends only on the i18n
// package, and its import path sorts before k8s.io/...); TestLoaderRunsBeforeKubectl
// checks it.
package kubectli18n

import (
	"os"
	"strings"

	"k8s.io/kubectl/pkg/util/i18n"
)

// installErr is the result of installing the loader at initialisation.
var installErr = i18n.SetLoadTranslationsFunc(load)

// Err reports whether the loader could not be installed (because a translation had
// already been loaded); kubectl then works as usual, only slower to start.
func Err() error { return installErr }

// load loads kubectl's translations unless the locale is English or unset.
func load() error {
	if englishLocale() {
		return nil
	}
	return i18n.LoadTranslations("kubectl", nil)
}

// englishLocale applies gettext's precedence (LC_ALL, LC_MESSAGES, LANG) as kubectl
// does.
func englishLocale() bool {
	lang := os.Getenv("LC_ALL")
	if lang == "" {
		lang = os.Getenv("LC_MESSAGES")
	}
	if lang == "" {
		lang = os.Getenv("LANG")
	}
	lang, _, _ = strings.Cut(lang, ".")
	return lang == "" || lang == "C" || lang == "POSIX" || strings.HasPrefix(lang, "en")
}
