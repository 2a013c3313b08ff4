package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Chart geometry, in SVG user units (pixels).
const (
	chartBin     = 100 * time.Millisecond // requests are grouped by start time into bins this wide
	panelW       = 440                    // plot area of one panel
	panelH       = 130
	failH        = 28 // the failures strip under each plot
	panelGapX    = 70
	panelGapY    = 84 // room for a row's titles and the x axis above them
	marginLeft   = 62
	marginTop    = 90
	marginRight  = 20
	marginBottom = 30
	latMin       = time.Millisecond
	latDecades   = 4 // 1 ms to 10 s
)

// timeBin is the requests of one window that started in one bin.
type timeBin struct {
	n, failed int
	p50, max  time.Duration
}

// binWindow groups w's requests into bins of chartBin by start time.
func binWindow(w *window) []timeBin {
	nb := int(w.end/chartBin) + 1
	lats := make([][]time.Duration, nb)
	bins := make([]timeBin, nb)
	for _, r := range w.reqs {
		i := min(int(r.at/chartBin), nb-1)
		lats[i] = append(lats[i], r.latency)
		bins[i].n++
		if r.failed() {
			bins[i].failed++
		}
	}
	for i, l := range lats {
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		bins[i].p50 = l[len(l)/2]
		bins[i].max = l[len(l)-1]
	}
	return bins
}

// writeChart draws, for each change (a row) and plan (a column), the
// latency of the requests over time during its window, log scale, as
// the median and the maximum of each 100 ms of start times, with the
// failed requests per 100 ms under it, the apply and the open
// transaction marked. Every panel has the same scales, so a column can
// be read against the other.
func writeChart(out io.Writer, windows []*window, plans []string, subtitle string) {
	var changes []change
	byKey := map[string]*window{}
	var span time.Duration
	maxFailed := 1
	binned := map[*window][]timeBin{}
	for _, w := range windows {
		if !slices.ContainsFunc(changes, func(c change) bool { return c.name == w.change.name }) {
			changes = append(changes, w.change)
		}
		byKey[w.change.name+"/"+w.plan] = w
		span = max(span, w.end)
		binned[w] = binWindow(w)
		for _, b := range binned[w] {
			maxFailed = max(maxFailed, b.failed)
		}
	}
	span = (span + time.Second - 1).Truncate(time.Second)
	if span <= 0 {
		span = time.Second
	}
	cols, rows := max(1, len(plans)), len(changes)
	// At least as wide as the title and the legend.
	width := max(marginLeft+cols*panelW+(cols-1)*panelGapX+marginRight, 1000)
	height := marginTop + rows*(panelH+failH) + rows*panelGapY + marginBottom

	p := &svgWriter{w: out}
	p.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	p.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p.f(`<text x="%d" y="22" font-size="15" font-weight="bold">Request latency and failures while migrate apply runs, plan by plan</text>`+"\n", marginLeft)
	p.f(`<text x="%d" y="40" fill="#444">%s. Requests by start time, in 100 ms bins; a gap: no request started, every client waiting.</text>`+"\n", marginLeft, html.EscapeString(subtitle))
	// Legend.
	ly := 62
	x := marginLeft
	p.f(`<rect x="%d" y="%d" width="18" height="10" fill="#dbe8f6"/><text x="%d" y="%d">migrate apply</text>`+"\n", x, ly-9, x+22, ly)
	x += 110
	p.f(`<rect x="%d" y="%d" width="18" height="4" fill="#e8a33d"/><text x="%d" y="%d">open transaction on tasks</text>`+"\n", x, ly-5, x+22, ly)
	x += 170
	p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1f4e9c" stroke-width="1.5"/><text x="%d" y="%d">slowest request</text>`+"\n", x, ly-4, x+18, ly-4, x+22, ly)
	x += 110
	p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999" stroke-width="1.2"/><text x="%d" y="%d">median</text>`+"\n", x, ly-4, x+18, ly-4, x+22, ly)
	x += 70
	p.f(`<rect x="%d" y="%d" width="6" height="10" fill="#d62728"/><text x="%d" y="%d">failed requests (full strip: %d per 100 ms)</text>`+"\n", x, ly-9, x+10, ly, maxFailed)

	for ci, plan := range plans {
		cx := marginLeft + ci*(panelW+panelGapX)
		p.f(`<text x="%d" y="%d" font-size="13" font-weight="bold" text-anchor="middle">%s plan</text>`+"\n", cx+panelW/2, marginTop-12, html.EscapeString(plan))
	}
	for ri, c := range changes {
		top := marginTop + ri*(panelH+failH+panelGapY) + 34
		p.f(`<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", marginLeft-40, top-22, html.EscapeString(c.label))
		for ci, plan := range plans {
			left := marginLeft + ci*(panelW+panelGapX)
			w := byKey[c.name+"/"+plan]
			if w != nil {
				s := w.stats()
				line := fmt.Sprintf("apply %.2f s · %d failed · p99 %s · max %s", (w.applyEnd - w.applyStart).Seconds(), s.failed, shortDur(s.p99), shortDur(s.max))
				if w.applyErr != "" {
					line += " · apply failed"
				}
				p.f(`<text x="%d" y="%d">%s</text>`+"\n", left, top-6, html.EscapeString(line))
			}
			p.panel(left, top, span, w, binned[w], maxFailed)
		}
	}
	p.f("</svg>\n")
}

// svgWriter writes SVG text; figures are rounded to a tenth of a pixel.
type svgWriter struct{ w io.Writer }

func (p *svgWriter) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// latY is the y of a latency in a plot whose top is top: log scale from
// 1 ms at the bottom to 10 s at the top, clamped to it.
func latY(top int, d time.Duration) float64 {
	v := math.Log10(float64(max(d, latMin)) / float64(latMin))
	v = min(v, latDecades)
	return float64(top) + float64(panelH)*(1-v/latDecades)
}

func (p *svgWriter) panel(left, top int, span time.Duration, w *window, bins []timeBin, maxFailed int) {
	xOf := func(t time.Duration) float64 { return float64(left) + float64(panelW)*float64(t)/float64(span) }
	bottom := top + panelH
	p.f(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#bbb"/>`+"\n", left, top, panelW, panelH)
	if w != nil {
		x0, x1 := xOf(w.applyStart), xOf(w.applyEnd)
		p.f(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#dbe8f6"/>`+"\n", x0, top, max(x1-x0, 1), panelH+failH)
		h0, h1 := xOf(w.holdStart), xOf(w.holdEnd)
		p.f(`<rect x="%.1f" y="%d" width="%.1f" height="4" fill="#e8a33d"/>`+"\n", h0, top, max(h1-h0, 1))
	}
	// Latency grid: 1 ms … 10 s, the 1 s target line darker.
	for d, i := latMin, 0; i <= latDecades; d, i = d*10, i+1 {
		y := latY(top, d)
		stroke := "#e4e4e4"
		if d == time.Second {
			stroke = "#c9a0a0"
		}
		p.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left, y, left+panelW, y, stroke)
		label := fmt.Sprintf("%d ms", d.Milliseconds())
		if d >= time.Second {
			label = fmt.Sprintf("%d s", int(d.Seconds()))
		}
		p.f(`<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", left-4, y+4, label)
	}
	// Time axis, under the failures strip.
	step := time.Second
	if span > 20*time.Second {
		step = 5 * time.Second
	} else if span > 10*time.Second {
		step = 2 * time.Second
	}
	axisY := bottom + failH
	p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>`+"\n", left, axisY, left+panelW, axisY)
	for t := time.Duration(0); t <= span; t += step {
		x := xOf(t)
		p.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#bbb"/><text x="%.1f" y="%d" text-anchor="middle" fill="#555">%gs</text>`+"\n", x, axisY, x, axisY+4, x, axisY+15, t.Seconds())
	}
	p.f(`<text x="%d" y="%d" text-anchor="end" fill="#555">failed</text>`+"\n", left-4, bottom+failH/2+4)
	if w == nil {
		p.f(`<text x="%d" y="%d" text-anchor="middle" fill="#999">not run</text>`+"\n", left+panelW/2, top+panelH/2)
		return
	}
	binW := float64(panelW) * float64(chartBin) / float64(span)
	for i, b := range bins {
		if b.failed == 0 {
			continue
		}
		h := float64(failH-2) * float64(b.failed) / float64(maxFailed)
		p.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728"><title>%d failed</title></rect>`+"\n",
			xOf(time.Duration(i)*chartBin), float64(bottom+failH)-h, max(binW-0.5, 1), h, b.failed)
	}
	has := func(i int) bool { return i >= 0 && i < len(bins) && bins[i].n > 0 }
	line := func(val func(timeBin) time.Duration, stroke string, width float64) {
		var d strings.Builder
		for i, b := range bins {
			if b.n == 0 {
				continue
			}
			x, y := xOf(time.Duration(i)*chartBin+chartBin/2), latY(top, val(b))
			cmd := "L"
			if !has(i - 1) {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x, y)
			// A bin alone between gaps (the requests that started
			// just before every client was held up) would be a path
			// of one point, which draws nothing: mark it.
			if !has(i-1) && !has(i+1) {
				p.f(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", x, y, width+0.8, stroke)
			}
		}
		p.f(`<path d="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round"/>`+"\n", strings.TrimSpace(d.String()), stroke, width)
	}
	line(func(b timeBin) time.Duration { return b.p50 }, "#999", 1.2)
	line(func(b timeBin) time.Duration { return b.max }, "#1f4e9c", 1.5)
}

// shortDur is a latency in a chart label: "850 µs", "12 ms", "1.4 s".
func shortDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
