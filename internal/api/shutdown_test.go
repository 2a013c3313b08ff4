package api_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasks/internal/api"
)

// TestShutdownCutsNoRequest: 100 keep-alive clients send creates without
// pause and, unlike a load balancer, come straight back when told
// Connection: close. Run's context is cancelled (as SIGTERM does) while
// they do. Every request a client managed to send is answered; the only
// failures allowed are connections refused once the server stopped
// listening, which carried no request.
func TestShutdownCutsNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("100 clients")
	}
	// A plain TCP socket, as api.Run binds one (see PlainListen).
	ln, err := api.PlainListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, stop, done := startRunOn(t, ln, map[string]string{"DATABASE_URL": cluster.Migrated(t), "SHUTDOWN_DELAY": "1s", "DB_MAX_CONNS": "16"})
	if get(t, base+"/readyz") != 200 {
		t.Fatal("not ready")
	}
	const clients = 100
	var (
		answered, refused, cut atomic.Int64
		mu                     sync.Mutex
		cutErrs                []string
		wg                     sync.WaitGroup
		running                = make(chan struct{})
		runningOnce            sync.Once
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			for n := 0; ; n++ {
				res, err := client.Post(base+"/tasks", "application/json", strings.NewReader(fmt.Sprintf(`{"title":"c%d-%d"}`, i, n)))
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						refused.Add(1) // refused or reset while connecting: nothing was sent
						return
					}
					cut.Add(1)
					mu.Lock()
					cutErrs = append(cutErrs, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answered.Add(1)
				if n == 3 {
					runningOnce.Do(func() { close(running) })
				}
			}
		}()
	}
	<-running
	time.Sleep(300 * time.Millisecond)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	wg.Wait()
	t.Logf("%d clients: %d answers, %d refused after the listener closed, %d cut", clients, answered.Load(), refused.Load(), cut.Load())
	if cut.Load() != 0 {
		if len(cutErrs) > 5 {
			cutErrs = cutErrs[:5]
		}
		t.Errorf("%d requests were cut: %s", cut.Load(), strings.Join(cutErrs, "; "))
	}
}
