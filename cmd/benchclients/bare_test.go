package main

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBareAnswer(t *testing.T) {
	tests := []struct {
		name, answer string
		wantErr      string // "" for none
		rest         string // what is left to read after the answer
	}{
		{name: "a body of its length", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ncontent-length: 5\r\n\r\nhello" + "HTTP/1.1",
			rest: "HTTP/1.1"},
		{name: "no body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{name: "not 200", answer: "HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n", wantErr: "answer not 200"},
		{name: "chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", wantErr: "without Content-Length"},
		{name: "cut short", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", wantErr: io.ErrUnexpectedEOF.Error()},
		{name: "a bad length", answer: "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", wantErr: "content-length"},
		{name: "closed", answer: "", wantErr: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.answer))
			err := readBareAnswer(br)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			rest, _ := io.ReadAll(br)
			assert.Equal(t, tt.rest, string(rest))
		})
	}
}
