package expectations

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestCounts(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	c := NewCounts(clk)
	if !c.Satisfied("k") {
		t.Fatal("unknown key must be satisfied")
	}
	c.ExpectCreations("k", 2)
	c.CreationObserved("k")
	if c.Satisfied("k") {
		t.Fatal("satisfied with one creation pending")
	}
	c.Lower("k", 1, 0)
	if !c.Satisfied("k") {
		t.Fatal("not satisfied after all observed")
	}
	c.ExpectDeletions("k", 1)
	if c.Satisfied("k") {
		t.Fatal("satisfied with a deletion pending")
	}
	clk.Step(DefaultTTL + time.Second)
	if !c.Satisfied("k") {
		t.Fatal("expired expectations must be satisfied")
	}
	c.Delete("k")
	if a, d := c.Pending("k"); a != 0 || d != 0 {
		t.Fatal("deleted key still pending")
	}
}

func TestUIDs(t *testing.T) {
	u := NewUIDs()
	u.Expect("k", "a", "b")
	u.Observed("k", "a")
	if p := u.Pending("k"); p.Len() != 1 || !p.Has("b") {
		t.Fatalf("pending %v", p)
	}
	p := u.Pending("k")
	p.Insert("c")
	if u.Pending("k").Has("c") {
		t.Fatal("Pending must return a copy")
	}
	u.Delete("k")
	if u.Pending("k").Len() != 0 {
		t.Fatal("deleted key still pending")
	}
}
