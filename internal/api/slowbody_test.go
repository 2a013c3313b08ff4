package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowBodyHead is a create whose headers promise a body of 40 bytes, and
// the first byte of it.
const slowBodyHead = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"

// TestBodyDeadline: a body that has not arrived BODY_TIMEOUT after its
// headers is answered 408 and its connection closed.
func TestBodyDeadline(t *testing.T) {
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": cluster.Migrated(t), "BODY_TIMEOUT": "300ms"})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, slowBodyHead)
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !res.Close || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("a body that never came: %d, Connection: close %v: %s", res.StatusCode, res.Close, b)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("the connection stayed open after the 408: %v", err)
	}
}

// TestSlowBodiesCannotLockOthersOut fills every connection the server
// allows with clients that sent their headers and are still sending
// their body: a new client takes the place of the one waiting longest for
// its body and is served, where it used to get 503 for as long as they
// kept dribbling.
func TestSlowBodiesCannotLockOthersOut(t *testing.T) {
	const max = 16
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": cluster.Migrated(t), "HTTP_MAX_CONNS": fmt.Sprint(max), "BODY_TIMEOUT": "30s"})
	addr := strings.TrimPrefix(base, "http://")
	if get(t, base+"/readyz") != 200 {
		t.Fatal("not ready")
	}
	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, slowBodyHead)
		slow = append(slow, c)
	}
	time.Sleep(500 * time.Millisecond) // past the grace a body has
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 3 {
		res, err := client.Post(base+"/tasks", "application/json", strings.NewReader(fmt.Sprintf(`{"title":"served %d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Errorf("create %d with every connection waiting for a body: %d; want 201", i, res.StatusCode)
		}
		client.CloseIdleConnections()
	}
}

// TestSlowBodyFlood is the load test of the slow-body flood (opt-in:
// SLOW_BODY_FLOOD=1, with -v to see the figures): for 10 s, 400 attackers
// keep connections open sending one body byte every 200 ms, reconnecting
// whenever closed, against a cap of 128 connections, while 8 normal
// clients create and read tasks. It reports the normal clients' success
// rate and p99; it asserts nothing about time.
func TestSlowBodyFlood(t *testing.T) {
	if os.Getenv("SLOW_BODY_FLOOD") == "" {
		t.Skip("opt-in load test: SLOW_BODY_FLOOD=1")
	}
	const (
		attackers = 400
		normal    = 8
		dur       = 10 * time.Second
		max       = 128
	)
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": cluster.Migrated(t), "HTTP_MAX_CONNS": fmt.Sprint(max), "DB_MAX_CONNS": "8"})
	addr := strings.TrimPrefix(base, "http://")
	if get(t, base+"/readyz") != 200 {
		t.Fatal("not ready")
	}
	stop := make(chan struct{})
	var (
		wg              sync.WaitGroup
		attackerConns   atomic.Int64
		attackerAnswers atomic.Int64
	)
	for range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				attackerConns.Add(1)
				io.WriteString(c, slowBodyHead)
				closed := make(chan struct{})
				go func() { // an answer (408, 503) or a close ends this round
					c.SetReadDeadline(time.Now().Add(dur + 5*time.Second))
					bufio.NewReader(c).ReadByte() // an answer, or the server closing
					select {
					case <-stop:
					default:
						attackerAnswers.Add(1)
					}
					close(closed)
				}()
			dribble:
				for range 39 {
					select {
					case <-stop:
						break dribble
					case <-closed:
						break dribble
					case <-time.After(200 * time.Millisecond):
						if _, err := io.WriteString(c, " "); err != nil {
							break dribble
						}
					}
				}
				c.Close()
				<-closed
			}
		}()
	}
	time.Sleep(time.Second) // let the flood fill the cap
	var (
		mu         sync.Mutex
		lats       []time.Duration
		statuses   = map[string]int{}
		errSamples []string
	)
	var nwg sync.WaitGroup
	end := time.Now().Add(dur)
	for i := range normal {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; time.Now().Before(end); n++ {
				t0 := time.Now()
				var res *http.Response
				var err error
				if n%2 == 0 {
					res, err = client.Post(base+"/tasks", "application/json", strings.NewReader(fmt.Sprintf(`{"title":"n%d-%d"}`, i, n)))
				} else {
					res, err = client.Get(base + "/tasks?limit=5")
				}
				took := time.Since(t0)
				key := "error"
				if err != nil {
					mu.Lock()
					if len(errSamples) < 3 {
						errSamples = append(errSamples, err.Error())
					}
					mu.Unlock()
				}
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					key = fmt.Sprint(res.StatusCode)
				}
				mu.Lock()
				statuses[key]++
				lats = append(lats, took)
				mu.Unlock()
			}
		}()
	}
	nwg.Wait()
	close(stop)
	wg.Wait()
	slices.Sort(lats)
	ok := statuses["200"] + statuses["201"]
	total := len(lats)
	if total == 0 {
		t.Fatal("no normal request completed")
	}
	t.Logf("slow-body flood: %d attackers (%d connections, %d of them answered or closed by the server), cap %d; %d normal clients for %s: "+
		"%d requests, success %.2f%%, p50 %s, p99 %s, statuses %v; errors such as %q",
		attackers, attackerConns.Load(), attackerAnswers.Load(), max, normal, dur, total, 100*float64(ok)/float64(total),
		lats[total/2].Round(time.Microsecond), lats[total*99/100].Round(time.Microsecond), statuses, errSamples)
}
