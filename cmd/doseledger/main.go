// Command doseledger runs the national vaccination dose ledger: its server,
// a synthetic-country seeder and an event viewer. Run it with --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(os.Stdout, os.Stderr)
	err := m.Run(ctx, os.Args[1:])
	var code exitCode // verify's verdict, printed already
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		if err != errUsage { // said in a message, not by the usage printed
			fmt.Fprintln(os.Stderr, "doseledger:", err)
		}
		os.Exit(2)
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fmt.Fprintln(os.Stderr, "doseledger:", err)
		os.Exit(1)
	}
}
