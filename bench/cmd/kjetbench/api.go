package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

const benchNamespace = "default"

// withServer starts a server on a fresh temporary data dir, hands it to f, and always
// stops it (and its supervisor) afterwards.
func (b *bench) withServer(ctx context.Context, name string, f func(*server) error) error {
	root, err := os.MkdirTemp("", "kjetbench-"+name+"-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(root)
	s, err := b.startServer(ctx, filepath.Join(root, "data"))
	if err != nil {
		return err
	}
	defer s.stop()
	return f(s)
}

func suspendedJob(name string) *batchv1.Job {
	suspend := true
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Suspend: &suspend,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
			}},
		},
	}
}

// apiRound is one create+get loop's outcome.
type apiRound struct {
	rate        float64       // requests per second
	create, get time.Duration // median latency of each kind
}

// createGetJobs creates n suspended Jobs named prefix-i and reads each back.
func createGetJobs(ctx context.Context, cs kubernetes.Interface, prefix string, n int) (apiRound, error) {
	jobs := cs.BatchV1().Jobs(benchNamespace)
	creates, gets := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		t := time.Now()
		if _, err := jobs.Create(ctx, suspendedJob(name), metav1.CreateOptions{}); err != nil {
			return apiRound{}, fmt.Errorf("creating job %s: %w", name, err)
		}
		t2 := time.Now()
		if _, err := jobs.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return apiRound{}, fmt.Errorf("getting job %s: %w", name, err)
		}
		creates, gets = append(creates, t2.Sub(t)), append(gets, time.Since(t2))
	}
	return apiRound{rate: float64(2*n) / time.Since(start).Seconds(), create: median(creates), get: median(gets)}, nil
}

// createGetJobsConcurrently runs createGetJobs on workers goroutines sharing cs (one
// client, one connection, workers requests in flight), n pairs in all.
func createGetJobsConcurrently(ctx context.Context, cs kubernetes.Interface, prefix string, n, workers int) (float64, error) {
	per := max(n/workers, 1)
	errs := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		go func() {
			_, err := createGetJobs(ctx, cs, fmt.Sprintf("%s-w%d", prefix, w), per)
			errs <- err
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return float64(2*per*workers) / time.Since(start).Seconds(), first
}

// apiWorkers is how many requests the concurrent variant of the API scenario keeps in
// flight on its one client.
const apiWorkers = 8

// waitQuiet polls the store's revision until it has not moved for quietFor (the Job
// controller has caught up with the Jobs created so far), or gives up after quietLimit.
func waitQuiet(ctx context.Context, cs kubernetes.Interface) error {
	const quietFor, quietLimit, every = 300 * time.Millisecond, 30 * time.Second, 50 * time.Millisecond
	deadline := time.Now().Add(quietLimit)
	last, err := storeRevision(ctx, cs)
	if err != nil {
		return err
	}
	since := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for time.Since(since) < quietFor {
		if time.Now().After(deadline) {
			return fmt.Errorf("the store still changed after %s", quietLimit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		rev, err := storeRevision(ctx, cs)
		if err != nil {
			return err
		}
		if rev != last {
			last, since = rev, time.Now()
		}
	}
	return nil
}

// trivialAPI is the baseline server: HTTPS (HTTP/2, like kjet) with a handler that echoes
// a created object back in the encoding it came in (client-go sends protobuf) and answers
// every GET with the last object created: TLS, HTTP and client-go's encoding, without
// storage or admission.
func trivialAPI() (*httptest.Server, *rest.Config, error) {
	fixed, err := json.Marshal(suspendedJob("fixed"))
	if err != nil {
		return nil, nil, fmt.Errorf("encoding job: %w", err)
	}
	var mu sync.Mutex // guards last and lastType
	last, lastType := fixed, "application/json"
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			ct := r.Header.Get("Content-Type")
			mu.Lock()
			last, lastType = body, ct
			mu.Unlock()
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(body)
			return
		}
		mu.Lock()
		body, ct := last, lastType
		mu.Unlock()
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(body)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	cfg := &rest.Config{
		Host:            ts.URL,
		BearerToken:     "bench",
		TLSClientConfig: rest.TLSClientConfig{CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})},
		RateLimiter:     flowcontrol.NewFakeAlwaysRateLimiter(),
		Timeout:         30 * time.Second,
	}
	return ts, cfg, nil
}

// apiThroughput measures create+get of suspended Jobs from one client-go client, rounds
// interleaved with the same loop against trivialAPI.
func (b *bench) apiThroughput(ctx context.Context) error {
	ts, baseCfg, err := trivialAPI()
	if err != nil {
		return err
	}
	defer ts.Close()
	baseCS, err := kubernetes.NewForConfig(baseCfg)
	if err != nil {
		return fmt.Errorf("baseline client: %w", err)
	}
	return b.withServer(ctx, "api", func(s *server) error {
		cs, _, err := s.client()
		if err != nil {
			return err
		}
		// Warm both connections (TLS handshake, discovery-free first request).
		if _, err := createGetJobs(ctx, cs, "warm", 20); err != nil {
			return err
		}
		if _, err := createGetJobs(ctx, baseCS, "warm", 20); err != nil {
			return err
		}
		var figs, bases []float64
		var creates, gets []time.Duration
		var writes string
		for r := 0; r < b.opts.Rounds; r++ {
			r0, err := storeRevision(ctx, cs)
			if err != nil {
				return err
			}
			f, err := createGetJobs(ctx, cs, fmt.Sprintf("round%d", r), b.opts.APIOps)
			if err != nil {
				return err
			}
			r1, err := storeRevision(ctx, cs)
			if err != nil {
				return err
			}
			writes = writesPer(r0, r1, b.opts.APIOps, "Job created (last round, during the loop)")
			base, err := createGetJobs(ctx, baseCS, fmt.Sprintf("round%d", r), b.opts.APIOps)
			if err != nil {
				return err
			}
			b.logf("api round %d: %.0f req/s (baseline %.0f)", r, f.rate, base.rate)
			figs, bases = append(figs, f.rate), append(bases, base.rate)
			creates, gets = append(creates, f.create), append(gets, f.get)
		}
		// The same client with requests in flight: after the sequential rounds, each
		// round starting once the Job controller has caught up with the previous one.
		var conc, concBases []float64
		for r := 0; r < b.opts.Rounds; r++ {
			if err := waitQuiet(ctx, cs); err != nil {
				return err
			}
			c, err := createGetJobsConcurrently(ctx, cs, fmt.Sprintf("conc%d", r), b.opts.APIOps, apiWorkers)
			if err != nil {
				return err
			}
			cb, err := createGetJobsConcurrently(ctx, baseCS, fmt.Sprintf("conc%d", r), b.opts.APIOps, apiWorkers)
			if err != nil {
				return err
			}
			b.logf("api concurrent round %d: %.0f req/s (baseline %.0f)", r, c, cb)
			conc, concBases = append(conc, c), append(concBases, cb)
		}
		fig, base := medianFloat(figs), medianFloat(bases)
		b.rows = append(b.rows, row{
			Scenario: "2 API throughput", Metric: "create+get suspended Job, 1 client-go client, req/s (median)",
			Figure: fmt.Sprintf("%.0f req/s", fig), Baseline: fmt.Sprintf("%.0f req/s (trivial HTTPS handler)", base),
			Ratio: ratio(fig, base), Target: "> 2,000 req/s", Met: met(fig > 2000),
			Notes: fmt.Sprintf("%d rounds of %d create+get; kjet rounds %s req/s; median create %s, get %s; %s",
				b.opts.Rounds, b.opts.APIOps, floats(figs), ms(median(creates)), ms(median(gets)), writes),
		})
		cf, cb := medianFloat(conc), medianFloat(concBases)
		b.rows = append(b.rows, row{
			Scenario: "2 API throughput", Metric: fmt.Sprintf("the same client with %d requests in flight (one connection), req/s (median)", apiWorkers),
			Figure: fmt.Sprintf("%.0f req/s", cf), Baseline: fmt.Sprintf("%.0f req/s (trivial HTTPS handler, %d in flight)", cb, apiWorkers),
			Ratio: ratio(cf, cb), Target: "(> 2,000 req/s)", Met: met(cf > 2000),
			Notes: fmt.Sprintf("%d rounds of %d create+get over %d goroutines sharing one clientset, each round after the store went quiet; kjet rounds %s req/s",
				b.opts.Rounds, b.opts.APIOps, apiWorkers, floats(conc)),
		})
		return nil
	})
}

func floats(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.0f", x)
	}
	return s
}

// arrival is one watch event's object name and the time it was read off the watch.
type arrival struct {
	name string
	at   time.Time
}

// watchLatency measures, for each ConfigMap created, the time from the create's response
// to its ADDED event arriving on a client-go watch, against bare /version round trips.
func (b *bench) watchLatency(ctx context.Context) error {
	return b.withServer(ctx, "watch", func(s *server) error {
		cs, _, err := s.client()
		if err != nil {
			return err
		}
		cms := cs.CoreV1().ConfigMaps(benchNamespace)
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing configmaps: %w", err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := cms.Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return fmt.Errorf("watching configmaps: %w", err)
		}
		defer w.Stop()
		arrivals := make(chan arrival, 1024)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range w.ResultChan() {
				at := time.Now()
				if ev.Type != watch.Added {
					continue
				}
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
					select {
					case arrivals <- arrival{name: cm.Name, at: at}:
					case <-wctx.Done():
						return
					}
				}
			}
		}()
		defer func() { cancel(); w.Stop(); <-done }()

		var lat, rtt []time.Duration
		for i := 0; i < b.opts.WatchEvents; i++ {
			name := fmt.Sprintf("watch-%d", i)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": fmt.Sprint(i)}}
			if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating configmap: %w", err)
			}
			responded := time.Now()
			if err := waitArrival(ctx, arrivals, name, responded, &lat); err != nil {
				return err
			}
			t := time.Now()
			if _, err := cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx); err != nil {
				return fmt.Errorf("getting /version: %w", err)
			}
			rtt = append(rtt, time.Since(t))
		}
		p50, p99 := percentile(lat, 50), percentile(lat, 99)
		b50, b99 := percentile(rtt, 50), percentile(rtt, 99)
		b.rows = append(b.rows, row{
			Scenario: "3 watch latency", Metric: "create response to ADDED event, p50 / p99",
			Figure: ms(p50) + " / " + ms(p99), Baseline: ms(b50) + " / " + ms(b99) + " (GET /version round trip)",
			Ratio:  ratio(float64(p50), float64(b50)) + " / " + ratio(float64(p99), float64(b99)),
			Target: "p99 < 5 ms", Met: met(p99 < 5*time.Millisecond),
			Notes: fmt.Sprintf("%d events; max %s (0 = event read before the response)", len(lat), ms(percentile(lat, 100))),
		})
		return nil
	})
}

// waitArrival waits up to 10 s for name's event and appends its latency after responded
// (zero when the event came first).
func waitArrival(ctx context.Context, arrivals <-chan arrival, name string, responded time.Time, lat *[]time.Duration) error {
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		select {
		case a := <-arrivals:
			if a.name != name {
				continue
			}
			d := a.at.Sub(responded)
			if d < 0 {
				d = 0
			}
			*lat = append(*lat, d)
			return nil
		case <-timer.C:
			return fmt.Errorf("no watch event for configmap %s after 10s", name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
