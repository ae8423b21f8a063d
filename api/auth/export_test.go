package auth

import "time"

// LookEvery sets how often d looks at its file, for tests.
func (d *Directory) LookEvery(every time.Duration) { d.lookEvery = every }
