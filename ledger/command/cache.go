package command

import "sync"

// cache keeps recently loaded stream states, so that a retry after a
// conflict reads only the events appended since. It is bounded by keeping
// two generations: when the young one fills, the old one is dropped.
type cache[S any] struct {
	mu         sync.Mutex // guards young and old
	young, old map[string]S
	limit      int
}

func newCache[S any](limit int) *cache[S] {
	return &cache[S]{young: map[string]S{}, old: map[string]S{}, limit: limit}
}

func (c *cache[S]) get(key string) (S, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.young[key]; ok {
		return s, true
	}
	s, ok := c.old[key]
	return s, ok
}

// put stores s unless newer reports that what is cached is newer.
func (c *cache[S]) put(key string, s S, newer func(cached S) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.young[key]; ok && newer(cur) {
		return
	}
	if len(c.young) >= c.limit {
		c.old, c.young = c.young, make(map[string]S, c.limit)
	}
	c.young[key] = s
}
