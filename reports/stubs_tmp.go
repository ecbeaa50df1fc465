package reports

import (
	"errors"
	"io"
)

// Temporary: the renderers below are being written; each returns an error until then.
var errNotYet = errors.New("not written yet")

func RenderMarkdown(w io.Writer, r *Report) error           { return errNotYet }
func RenderMarkdownCompare(w io.Writer, rs []*Report) error { return errNotYet }
func RenderHTML(w io.Writer, r *Report) error               { return errNotYet }
func RenderHTMLCompare(w io.Writer, rs []*Report) error     { return errNotYet }
func RenderJUnit(w io.Writer, r *Report) error              { return errNotYet }
func RenderJUnitCompare(w io.Writer, rs []*Report) error    { return errNotYet }
