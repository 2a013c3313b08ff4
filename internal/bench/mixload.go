package bench

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// request is one request of a mixed load, as the migrations bench keeps
// it: when it started (since the load's start), how long it took and
// how it was answered.
type request struct {
	at, latency time.Duration
	status      int // 0: no answer (a connection or read error)
	op          byte
}

// failed reports whether a request counts as failed: no answer, a 5xx,
// or a 4xx other than those a client expects in the normal course (404
// for a task another client deleted, 412 for a lost If-Match race).
func (r request) failed() bool {
	switch {
	case r.status == 0, r.status >= 500:
		return true
	case r.status >= 400:
		return r.status != 404 && r.status != 412
	}
	return false
}

// The operations of a mixed load, as request.op records them.
const (
	opGet    = 'g'
	opList   = 'l'
	opPatch  = 'p'
	opCreate = 'c'
)

// mixedLoad drives an HTTP server from n clients, each on a keep-alive
// connection, with a mix of reads and writes, and records every request
// until stopped. It reuses the bench's lean HTTP/1.1 client.
type mixedLoad struct {
	start time.Time
	stop  atomic.Bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	reqs  []request
}

// startMixedLoad starts n clients against the server at base
// (http://host:port). Reads and updates pick ids in [1, rows]; a create
// gets a title no other request of this load has, prefixed by tag, so a
// unique constraint on title holds whatever else ran before.
func startMixedLoad(base string, n, rows int, tag string) *mixedLoad {
	host := strings.TrimPrefix(base, "http://")
	l := &mixedLoad{start: time.Now()}
	for w := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(l.start.UnixNano())))
			// The load is stopped by the bench, not by a clock; the
			// deadline only bounds a connection that hangs.
			c := &httpClient{host: host, deadline: l.start.Add(10 * time.Minute)}
			defer c.close()
			local := make([]request, 0, 4096)
			var req []byte
			for seq := 0; !l.stop.Load(); seq++ {
				var op byte
				req, op = appendMixedRequest(req[:0], host, rng, rows, tag, w, seq)
				t0 := time.Now()
				status, err := c.do(req)
				if err != nil {
					status = 0
				}
				local = append(local, request{at: t0.Sub(l.start), latency: time.Since(t0), status: status, op: op})
			}
			l.mu.Lock()
			l.reqs = append(l.reqs, local...)
			l.mu.Unlock()
		}()
	}
	return l
}

// since is the time elapsed since the load started, the origin of its
// requests' times.
func (l *mixedLoad) since() time.Duration { return time.Since(l.start) }

// finish stops the clients, waits for their last requests and returns
// every request.
func (l *mixedLoad) finish() []request {
	l.stop.Store(true)
	l.wg.Wait()
	return l.reqs
}

// appendMixedRequest renders the next request of a mixed load: 45% GET
// /tasks/{id}, 5% GET /tasks (the newest page), 40% PATCH of done, 10%
// POST.
func appendMixedRequest(b []byte, host string, rng *rand.Rand, rows int, tag string, client, seq int) ([]byte, byte) {
	var body []byte
	var op byte
	switch p := rng.IntN(100); {
	case p < 45:
		op = opGet
		b = append(b, "GET /tasks/"...)
		b = strconv.AppendInt(b, int64(1+rng.IntN(rows)), 10)
	case p < 50:
		op = opList
		b = append(b, "GET /tasks"...)
	case p < 90:
		op = opPatch
		b = append(b, "PATCH /tasks/"...)
		b = strconv.AppendInt(b, int64(1+rng.IntN(rows)), 10)
		body = []byte(`{"done":false}`)
		if rng.IntN(2) == 1 {
			body = []byte(`{"done":true}`)
		}
	default:
		op = opCreate
		b = append(b, "POST /tasks"...)
		body = []byte(`{"title":"` + tag + "-" + strconv.Itoa(client) + "-" + strconv.Itoa(seq) + `"}`)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: bench\r\n"...)
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...), op
}
