// SPDX-License-Identifier: BSD-2-Clause

// echo.go - a goroutine-per-connection TCP line echo server, the Go peer
// that bench/run.sh compares mtserver with.  Standard library only; built by
// the bench with GO111MODULE=off into its temporary directory.
//
//	echo [-addr 127.0.0.1:0] [-max-line 65536]
//
// Every connection gets its own goroutine, which reads lines and writes each
// one back (with its "\n").  Replies are buffered and flushed whenever the
// input buffer has no further complete request, so a pipelining client is
// served in batches and a ping-pong client gets each reply immediately: the
// idiomatic fast Go server.  It prints
//
//	echo: listening on 127.0.0.1:PORT
//
// on stderr once it listens (-addr with port 0 picks a free port), and exits
// with status 0 on SIGTERM or SIGINT.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func serve(c net.Conn, maxLine int) {
	defer c.Close()
	r := bufio.NewReaderSize(c, maxLine)
	w := bufio.NewWriterSize(c, 64*1024)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Over-long line: echo what we have and keep going, as
			// a line server that does not enforce a limit would.
			err = nil
		}
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 = any free port)")
	maxLine := flag.Int("max-line", 64*1024, "read buffer size per connection")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "echo: listening on %s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ln.Close()
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				os.Exit(0) // closed by the signal handler
			}
			// Typically EMFILE: report it and pause rather than spin.
			fmt.Fprintf(os.Stderr, "echo: accept: %v\n", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c, *maxLine)
	}
}
