package fig_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sessionlab/sessionlab/reports/internal/fig"
)

func TestFmt(t *testing.T) {
	for _, tc := range []struct {
		v    *float64
		want string
	}{
		{nil, "n/a"},
		{new(0.0), "0.000"},
		{new(2.0 / 3), "0.667"},
		{new(1.0005), "1.000"},
	} {
		assert.Equal(t, tc.want, fig.Fmt(tc.v))
	}
}
