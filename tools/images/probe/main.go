// Command probe is the test workload of the local node's end-to-end tests. It reports what
// the container it runs in is allowed to do (user, capabilities, seccomp, no_new_privs,
// whether / is writable, whether a service-account token is mounted) and, for network policy
// tests, fetches a URL on request. Standard library only.
//
//	probe serve [addr]   HTTP on addr (default :8080): /healthz, /ready, /self, /fetch?url=
//	probe self           print the report as JSON and exit
//	probe get URL        GET URL (2 s timeout); exit 0 on any HTTP answer, 1 otherwise
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

type report struct {
	UID          int               `json:"uid"`
	GID          int               `json:"gid"`
	Status       map[string]string `json:"status"`
	WriteRoot    string            `json:"writeRoot"`
	TokenMounted bool              `json:"tokenMounted"`
	Hostname     string            `json:"hostname"`
}

func self() report {
	r := report{UID: os.Getuid(), GID: os.Getgid(), Status: map[string]string{}}
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			switch k {
			case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters":
				r.Status[k] = strings.TrimSpace(v)
			}
		}
		f.Close()
	}
	if err := os.WriteFile("/probe-write-test", []byte("x"), 0o600); err != nil {
		r.WriteRoot = err.Error()
	} else {
		r.WriteRoot = "ok"
		os.Remove("/probe-write-test")
	}
	_, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token")
	r.TokenMounted = err == nil
	r.Hostname, _ = os.Hostname()
	return r
}

func fetch(url string) (int, string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(b), nil
}

func main() {
	mode := "serve"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "self":
		json.NewEncoder(os.Stdout).Encode(self())
	case "get":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: probe get URL")
			os.Exit(2)
		}
		code, body, err := fetch(os.Args[2])
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(code, body)
	case "serve":
		addr := ":8080"
		if len(os.Args) > 2 {
			addr = os.Args[2]
		}
		json.NewEncoder(os.Stdout).Encode(self())
		mux := http.NewServeMux()
		ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
		mux.HandleFunc("/healthz", ok)
		mux.HandleFunc("/ready", ok)
		mux.HandleFunc("/self", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("content-type", "application/json")
			json.NewEncoder(w).Encode(self())
		})
		mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
			code, body, err := fetch(r.URL.Query().Get("url"))
			w.Header().Set("content-type", "application/json")
			res := map[string]any{"status": code, "body": body}
			if err != nil {
				res["error"] = err.Error()
			}
			json.NewEncoder(w).Encode(res)
		})
		srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		if err := srv.ListenAndServe(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: probe serve [addr] | self | get URL")
		os.Exit(2)
	}
}
