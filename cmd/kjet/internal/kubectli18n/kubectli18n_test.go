package kubectli18n

import (
	"testing"

	"k8s.io/kubectl/pkg/util/i18n"
)

func TestLoaderInstalledAndEnglishIsDefaultText(t *testing.T) {
	if Err() != nil {
		t.Fatalf("loader not installed: %v", Err())
	}
	t.Setenv("LANG", "en_US.UTF-8")
	if got := i18n.T("Print the list of flags inherited by all commands"); got != "Print the list of flags inherited by all commands" {
		t.Fatalf("T = %q", got)
	}
}

func TestEnglishLocale(t *testing.T) {
	cases := []struct {
		name, lcAll, lang string
		want              bool
	}{
		{"unset", "", "", true},
		{"C", "", "C", true},
		{"en_US", "", "en_US.UTF-8", true},
		{"de_DE", "", "de_DE.UTF-8", false},
		{"LC_ALL wins", "ja_JP.UTF-8", "en_US.UTF-8", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LC_ALL", tc.lcAll)
			t.Setenv("LC_MESSAGES", "")
			t.Setenv("LANG", tc.lang)
			if got := englishLocale(); got != tc.want {
				t.Fatalf("englishLocale() = %v", got)
			}
		})
	}
}
