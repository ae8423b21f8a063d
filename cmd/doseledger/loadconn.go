package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// burstConn is one client of the registration burst: a keep-alive HTTP/1.1
// connection of its own, written to and read from by one goroutine, the
// way wrk's clients work. net/http's client hands every request between
// three goroutines and its connection pool, which cost the load generator
// about a fifth of the machine's two cores, taken from the server it
// measures; requests here are written whole and the answers read with
// net/http's own parser (http.ReadResponse).
type burstConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func dialBurst(ctx context.Context, addr string) (*burstConn, error) {
	c := &burstConn{addr: addr}
	return c, c.redial(ctx)
}

func (c *burstConn) redial(ctx context.Context) error {
	if c.conn != nil {
		c.conn.Close()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.conn, c.r = conn, bufio.NewReader(conn)
	return nil
}

func (c *burstConn) Close() error { return c.conn.Close() }

// register posts p's registration and keeps the id the server gave. A
// connection the server closed is dialled again once, before the request
// is sent again (it is idempotent: the same request id).
func (c *burstConn) register(ctx context.Context, p *loadPerson) error {
	code, body, err := c.post(p)
	if err != nil && ctx.Err() == nil {
		if err = c.redial(ctx); err == nil {
			code, body, err = c.post(p)
		}
	}
	if err != nil {
		return err
	}
	var out struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &out) != nil || !ledger.ValidBeneficiaryID(out.BeneficiaryID) {
		return fmt.Errorf("register answered %d %s", code, clip(string(body), 200))
	}
	p.id = out.BeneficiaryID
	return nil
}

func (c *burstConn) post(p *loadPerson) (int, []byte, error) {
	b := append(c.buf[:0], "POST /api/v1/beneficiaries HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\nContent-Type: application/json\r\nAuthorization: Bearer "...)
	b = append(b, p.token...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(p.register)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, p.register...)
	c.buf = b
	c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := c.conn.Write(b); err != nil {
		return 0, nil, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if res.Close {
		// The server will close this connection: dial the next request's.
		err = c.redial(context.Background())
	}
	return res.StatusCode, body, err
}
