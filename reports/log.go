package reports

import (
	"errors"
	"io"

	"github.com/sessionlab/sessionlab/clients/events"
)

// ReadLog computes the report of a saved event log (events.Reader): its header, then every exchange, fault mark
// and store record in the order they were written, with the header's expectations checked. Errors name the line.
func ReadLog(r io.Reader) (*Report, error) {
	lr, err := events.NewReader(r)
	if err != nil {
		return nil, err
	}
	acc := NewAccumulator(lr.Header().Meta)
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		acc.Record(e)
	}
	rep := acc.Report()
	rep.Check(lr.Header().Expect)
	return rep, nil
}
