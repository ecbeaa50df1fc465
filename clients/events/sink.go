package events

// Sink receives every event of a run. Record is called from many goroutines at once.
type Sink interface {
	Record(Event)
}

// SinkFunc adapts a function to a Sink; the function must be safe for concurrent use.
type SinkFunc func(Event)

func (f SinkFunc) Record(e Event) { f(e) }

// Tee sends every event to each sink in turn.
func Tee(sinks ...Sink) Sink {
	return SinkFunc(func(e Event) {
		for _, s := range sinks {
			s.Record(e)
		}
	})
}
