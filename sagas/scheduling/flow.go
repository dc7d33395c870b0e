package scheduling

import (
	"math"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The assignment is a min-cost max-flow, so "as many lessons as possible"
// and the preferences are met exactly rather than by a greedy order:
//
//	source -> class subject        one edge per lesson needed (fairness cost)
//	class subject -> (it, day)     one edge per lesson on that day (spread cost)
//	(it, day) -> slot              where the class and the teacher are free (preference, period cost)
//	slot -> day                    capacity 1: the teacher is in one place at a time
//	day -> sink                    capacity = the teacher's room left under MaxClassesPerDay
//
// A unit of flow is a lesson. The costs are tiers, each heavier than the
// most the tiers below can add up to, so they are compared in order:
// fairness, then preference, then spread, then earlier periods.

type edge struct {
	to   int32
	cap  int32
	cost int64
}

type graph struct {
	edges []edge // edge i^1 is the reverse of edge i
	adj   [][]int32
}

func (g *graph) node() int {
	g.adj = append(g.adj, nil)
	return len(g.adj) - 1
}

func (g *graph) addEdge(from, to, capacity int, cost int64) int {
	i := len(g.edges)
	g.edges = append(g.edges, edge{to: int32(to), cap: int32(capacity), cost: cost}, edge{to: int32(from), cost: -cost})
	g.adj[from] = append(g.adj[from], int32(i))
	g.adj[to] = append(g.adj[to], int32(i+1))
	return i
}

// minCostMaxFlow augments along cheapest paths (successive shortest paths;
// Bellman-Ford with a FIFO queue, since residual edges cost less than
// zero) until none is left, which gives a maximum flow of minimum cost.
// Every choice follows the order edges were added, so it is deterministic.
func (g *graph) minCostMaxFlow(src, sink int) {
	n := len(g.adj)
	dist := make([]int64, n)
	prev := make([]int32, n)
	inQueue := make([]bool, n)
	queue := make([]int32, n) // a ring: a node is queued at most once at a time
	for {
		for i := range dist {
			dist[i], prev[i] = math.MaxInt64, -1
		}
		dist[src] = 0
		head, size := 0, 1
		queue[0] = int32(src)
		inQueue[src] = true
		for size > 0 {
			u := queue[head]
			head, size = (head+1)%n, size-1
			inQueue[u] = false
			for _, ei := range g.adj[u] {
				e := &g.edges[ei]
				if e.cap > 0 && dist[u]+e.cost < dist[e.to] {
					dist[e.to], prev[e.to] = dist[u]+e.cost, ei
					if !inQueue[e.to] {
						queue[(head+size)%n] = e.to
						size++
						inQueue[e.to] = true
					}
				}
			}
		}
		if dist[sink] == math.MaxInt64 {
			return
		}
		flow := int32(math.MaxInt32)
		for v := sink; v != src; v = int(g.edges[prev[v]^1].to) {
			flow = min(flow, g.edges[prev[v]].cap)
		}
		for v := sink; v != src; v = int(g.edges[prev[v]^1].to) {
			g.edges[prev[v]].cap -= flow
			g.edges[prev[v]^1].cap += flow
		}
	}
}

// assign returns the new lessons (without teacher) for the demand ds in
// the free periods of w.
func assign(w *week, ds []Demand) []domain.TimetableEntry {
	g := &graph{}
	src, sink := g.node(), g.node()
	slotNode := map[domain.Slot]int{}
	for _, d := range w.days {
		room := w.max - w.load[d]
		if room <= 0 {
			continue
		}
		dayNode := g.node()
		g.addEdge(dayNode, sink, min(room, w.periods), 0)
		for p := 1; p <= w.periods; p++ {
			s := domain.Slot{Day: d, Period: p}
			if !w.teacherBusy[s] {
				slotNode[s] = g.node()
				g.addEdge(slotNode[s], dayNode, 1, 0)
			}
		}
	}
	if len(slotNode) == 0 {
		return nil
	}
	// Tier weights. No plan has more lessons than free slots (lessons), and
	// none puts more than MaxPeriod lessons of one class subject on a day.
	lessons := int64(len(slotNode))
	periodMax := lessons * domain.MaxPeriod // tier 0: period-1 per lesson
	spreadUnit := periodMax + 1
	spreadMax := lessons * domain.MaxPeriod * spreadUnit // tier 1: (k-1) units for a day's k-th lesson
	preferUnit := periodMax + spreadMax + 1
	preferMax := lessons * preferUnit // tier 2: one unit per lesson outside the preferred periods
	fairUnit := periodMax + spreadMax + preferMax + 1

	// Fairness: minimizing the sum over class subjects of unfilled² makes
	// the j-th lesson of a class subject needing n worth 2(n−j)+1; as a cost
	// (offset to stay positive) that is maxNeed−n+j units, j = 1…n.
	const needCap = 1 << 16 // no week has that many lessons; keeps costs in range
	maxNeed := 0
	for _, d := range ds {
		maxNeed = max(maxNeed, min(d.Needed, needCap))
	}
	type choice struct {
		edge   int
		demand int
		slot   domain.Slot
	}
	var choices []choice
	for i, d := range ds {
		if d.Needed == 0 {
			continue
		}
		byDay := make([][]domain.Slot, len(w.days))
		total := 0
		for di, day := range w.days {
			for p := 1; p <= w.periods; p++ {
				s := domain.Slot{Day: day, Period: p}
				if _, ok := slotNode[s]; ok && !w.classBusy[classSlot{d.ClassID, s}] {
					byDay[di] = append(byDay[di], s)
					total++
				}
			}
		}
		if total == 0 {
			continue
		}
		csNode := g.node()
		need := min(d.Needed, needCap)
		for j := 1; j <= min(need, total); j++ {
			g.addEdge(src, csNode, 1, fairUnit*int64(maxNeed-need+j))
		}
		for _, slots := range byDay {
			if len(slots) == 0 {
				continue
			}
			// The class subject's lessons already on the day count, so new
			// ones go first to days without one.
			dayNode := g.node()
			already := w.subjectLoad[classSubjectDay{d.ClassID, d.Subject, slots[0].Day}]
			for k := range min(len(slots), need) {
				g.addEdge(csNode, dayNode, 1, int64(min(already+k, domain.MaxPeriod))*spreadUnit)
			}
			for _, s := range slots {
				cost := int64(s.Period - 1)
				if !w.prefers(s.Period) {
					cost += preferUnit
				}
				choices = append(choices, choice{edge: g.addEdge(dayNode, slotNode[s], 1, cost), demand: i, slot: s})
			}
		}
	}
	g.minCostMaxFlow(src, sink)
	var out []domain.TimetableEntry
	for _, c := range choices {
		if g.edges[c.edge].cap == 0 {
			out = append(out, domain.TimetableEntry{ClassID: ds[c.demand].ClassID, Subject: ds[c.demand].Subject, Slot: c.slot})
		}
	}
	return out
}
