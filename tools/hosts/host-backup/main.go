// Command hcb-host-backup runs on a control-plane host of the hosts target for `hcb backup`
// (stacks/hosts/backup.ts delivers it by sha256 to /opt/hcb/bin). Standard library only.
//
//	hcb-host-backup snapshot --endpoint URL --cacert F --cert F --key F --out FILE [--timeout D]
//	    Takes an etcd snapshot through etcd's v3 API (the gRPC gateway's streaming
//	    POST /v3/maintenance/snapshot, the same call the local target makes) with a client
//	    certificate, writes it to FILE (created, mode 0600, fsynced) exactly as the stream carries it:
//	    the database followed by the 32-byte sha256 etcd appends, which `etcdutl snapshot restore`
//	    checks. The appended digest is checked here too. Prints one JSON line
//	    {"bytes","sha256","version"}; on any failure FILE is removed and the exit status is 1.
//
//	hcb-host-backup scheduled --config FILE
//	    The scheduled backup on the host (scheduled.go): snapshot, revision (etcdutl), PKI,
//	    encryption configuration and keys sealed with AES-256-GCM into the backup file format of
//	    stacks/local/backup-archive.ts, written to the configured directory; retention applied.
//
//	hcb-host-backup wait-ready --kubeconfig F [--path /readyz] [--timeout D]
//	    Polls the API server named in a kubeadm kubeconfig (embedded CA, client certificate and
//	    key) until PATH answers 200, at most D. Exit 0 when ready, 1 otherwise.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: hcb-host-backup snapshot|wait-ready|scheduled [flags]"))
	}
	var err error
	switch os.Args[1] {
	case "snapshot":
		err = snapshot(os.Args[2:])
	case "wait-ready":
		err = waitReady(os.Args[2:])
	case "scheduled":
		err = scheduled(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "hcb-host-backup: %v\n", err)
	os.Exit(1)
}

func tlsConfig(caPEM []byte, cert tls.Certificate, serverName string) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the CA file holds no PEM certificate")
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ServerName: serverName}, nil
}

// streamMessage is one line of the gateway's stream: {"result": SnapshotResponse} or {"error": Status}.
type streamMessage struct {
	Result *struct {
		RemainingBytes json.RawMessage `json:"remaining_bytes"`
		Blob           string          `json:"blob"`
		Version        string          `json:"version"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// remaining reads a uint64 the gateway prints as a JSON string (protojson) or a number; absent is 0.
func remaining(raw json.RawMessage) (uint64, error) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func snapshot(args []string) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "etcd client URL (https)")
	caFile := fs.String("cacert", "", "CA bundle that signed etcd's serving certificate")
	certFile := fs.String("cert", "", "client certificate")
	keyFile := fs.String("key", "", "client key")
	out := fs.String("out", "", "snapshot file to create")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound of the whole snapshot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" || *caFile == "" || *certFile == "" || *keyFile == "" || *out == "" {
		return errors.New("snapshot needs --endpoint, --cacert, --cert, --key and --out")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--endpoint %q is not an https URL", *endpoint)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	cfg, err := tlsConfig(caPEM, cert, u.Hostname())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	result, err := stream(cfg, u, f, *timeout)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
	return nil
}

type snapshotResult struct {
	Bytes   int64  `json:"bytes"`
	Sha256  string `json:"sha256"`
	Version string `json:"version,omitempty"`
}

func stream(cfg *tls.Config, u *url.URL, w io.Writer, timeout time.Duration) (snapshotResult, error) {
	var res snapshotResult
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	target := u.JoinPath("/v3/maintenance/snapshot")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader("{}"))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: false, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 400))
		return res, fmt.Errorf("etcd refused the snapshot: HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	whole := sha256.New() // everything written (database and appended digest)
	data := sha256.New()  // the database alone
	zeros := 0            // messages with remaining_bytes 0: the last data chunk, then the digest
	var digest []byte
	r := bufio.NewReaderSize(resp.Body, 1<<16)
	for {
		line, rerr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var m streamMessage
			if err := json.Unmarshal(line, &m); err != nil {
				return res, fmt.Errorf("etcd sent a line that is not JSON: %w", err)
			}
			if m.Error != nil {
				return res, fmt.Errorf("etcd snapshot failed: %s (code %d)", m.Error.Message, m.Error.Code)
			}
			if m.Result == nil {
				return res, errors.New("etcd sent a message without a result")
			}
			if m.Result.Version != "" {
				res.Version = m.Result.Version
			}
			blob, err := base64.StdEncoding.DecodeString(m.Result.Blob)
			if err != nil {
				return res, fmt.Errorf("etcd sent a blob that is not base64: %w", err)
			}
			left, err := remaining(m.Result.RemainingBytes)
			if err != nil {
				return res, fmt.Errorf("remaining_bytes: %w", err)
			}
			if zeros >= 2 {
				return res, errors.New("etcd sent data after the snapshot's digest")
			}
			if _, err := w.Write(blob); err != nil {
				return res, err
			}
			whole.Write(blob)
			res.Bytes += int64(len(blob))
			if zeros == 1 {
				digest = blob
			} else {
				data.Write(blob)
			}
			if left == 0 {
				zeros++
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return res, rerr
		}
	}
	if zeros != 2 || len(digest) != sha256.Size {
		return res, fmt.Errorf("the snapshot stream ended early (%d bytes received)", res.Bytes)
	}
	if !bytes.Equal(digest, data.Sum(nil)) {
		return res, errors.New("the snapshot does not match the sha256 etcd sent with it")
	}
	res.Sha256 = hex.EncodeToString(whole.Sum(nil))
	return res, nil
}

var kubeconfigField = regexp.MustCompile(`(?m)^\s*(server|certificate-authority-data|client-certificate-data|client-key-data):\s*(\S+)\s*$`)

func waitReady(args []string) error {
	fs := flag.NewFlagSet("wait-ready", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeadm kubeconfig with embedded credentials")
	path := fs.String("path", "/readyz", "path that must answer 200")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound of the wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	text, err := os.ReadFile(*kubeconfig)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	for _, m := range kubeconfigField.FindAllStringSubmatch(string(text), -1) {
		if _, seen := fields[m[1]]; !seen {
			fields[m[1]] = m[2]
		}
	}
	for _, k := range []string{"server", "certificate-authority-data", "client-certificate-data", "client-key-data"} {
		if fields[k] == "" {
			return fmt.Errorf("%s has no %s (only kubeconfigs with embedded credentials are read)", *kubeconfig, k)
		}
	}
	dec := func(k string) ([]byte, error) { return base64.StdEncoding.DecodeString(fields[k]) }
	ca, err := dec("certificate-authority-data")
	if err != nil {
		return err
	}
	certPEM, err := dec("client-certificate-data")
	if err != nil {
		return err
	}
	keyPEM, err := dec("client-key-data")
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	u, err := url.Parse(fields["server"])
	if err != nil || u.Scheme != "https" {
		return fmt.Errorf("server %q is not an https URL", fields["server"])
	}
	cfg, err := tlsConfig(ca, cert, u.Hostname())
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	start := time.Now()
	deadline := start.Add(*timeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		resp, err := client.Get(u.JoinPath(*path).String())
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("ready after %d s\n", int(time.Since(start).Seconds()))
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%s did not answer 200 within %s; last: %s", u.JoinPath(*path), *timeout, last)
}
