package store

// TakeSlot takes one of the pool's slots as a running statement would,
// and returns the function that gives it back.
func (s *Tasks) TakeSlot() (release func()) {
	s.db.slots <- struct{}{}
	return func() { <-s.db.slots }
}
